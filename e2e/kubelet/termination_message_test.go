package kubelet

import (
	"fmt"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
)

const terminationMessagePods = `apiVersion: v1
kind: ConfigMap
metadata: {name: unfinished}
data: {done: DONE}
---
apiVersion: v1
kind: Pod
metadata: {name: msg-non-root}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [write, /dev/termination-custom-log, DONE]
    terminationMessagePath: /dev/termination-custom-log
    securityContext: {runAsUser: 1000}
---
apiVersion: v1
kind: Pod
metadata: {name: msg-file-wins}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [write, /dev/termination-log, OK]
    terminationMessagePolicy: FallbackToLogsOnError
---
apiVersion: v1
kind: Pod
metadata: {name: msg-success-no-logs}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [echo, DONE]
    terminationMessagePolicy: FallbackToLogsOnError
---
apiVersion: v1
kind: Pod
metadata: {name: msg-from-logs}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [cat, /unfinished/done, /nonexistent]
    terminationMessagePolicy: FallbackToLogsOnError
    volumeMounts:
    - {name: unfinished, mountPath: /unfinished}
  volumes:
  - name: unfinished
    configMap: {name: unfinished}
---
apiVersion: v1
kind: Pod
metadata: {name: msg-crashing}
spec:
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [ls, /nonexistent]
    terminationMessagePolicy: FallbackToLogsOnError
`

// TestTerminationMessage: the termination-message file is mounted where
// terminationMessagePath says, writable by a non-root container, and its
// content is the terminated state's message; with FallbackToLogsOnError a
// failed container with an empty file reports the end of its log (an
// unfinished last line as it was written), a successful one nothing; the
// message stays on lastState after a restart.
func TestTerminationMessage(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--container-restart-backoff", "1s")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, terminationMessagePods)
	for _, tt := range []struct{ pod, phase, message string }{
		{"msg-non-root", "Succeeded", "DONE"},
		{"msg-file-wins", "Succeeded", "OK"},
		{"msg-success-no-logs", "Succeeded", ""},
		{"msg-from-logs", "Failed", "cat: open /nonexistent: no such file or directory\nDONE"},
	} {
		framework.Eventually(t, 60*time.Second, tt.pod+" "+tt.phase, func() error {
			p := getPod(t, c, tt.pod)
			if p.GetStatus().GetPhase() != tt.phase {
				return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
			}
			return nil
		})
		term := containerStatus(getPod(t, c, tt.pod)).GetState().GetTerminated()
		if term.GetMessage() != tt.message {
			t.Errorf("%s: terminated message %q, want %q", tt.pod, term.GetMessage(), tt.message)
		}
	}
	var last *corev1.ContainerStateTerminated
	framework.Eventually(t, 60*time.Second, "msg-crashing restarted", func() error {
		cs := containerStatus(getPod(t, c, "msg-crashing"))
		if last = cs.GetLastState().GetTerminated(); cs.GetRestartCount() < 1 || last == nil {
			return fmt.Errorf("restartCount %d, lastState %v", cs.GetRestartCount(), cs.GetLastState())
		}
		return nil
	})
	if want := "ls: stat /nonexistent: no such file or directory\n"; last.GetMessage() != want {
		t.Errorf("msg-crashing: lastState message %q, want %q", last.GetMessage(), want)
	}
}
