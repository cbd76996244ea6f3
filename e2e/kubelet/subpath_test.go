package kubelet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// subPathPod is a pod named %[1]s whose POD_NAME is %[2]q, with an
// emptyDir mounted whole and at subPathExpr %[4]s, where ANNOTATION comes
// from its annotation mysubpath (%[3]s).
const subPathPod = `apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  annotations: {%[3]s}
spec:
  securityContext: {runAsUser: 1000}
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [sleep, infinity]
    env:
    - {name: POD_NAME, value: %[2]q}
    - name: ANNOTATION
      valueFrom: {fieldRef: {fieldPath: "metadata.annotations['mysubpath']"}}
    volumeMounts:
    - {name: workdir, mountPath: /subpath_mount, subPathExpr: "%[4]s"}
    - {name: workdir, mountPath: /volume_mount}
    - {name: config, mountPath: /etc/greeting, subPath: greeting}
  volumes:
  - name: workdir
    emptyDir: {}
  - name: config
    configMap: {name: subpath-config}
`

// TestSubPath: subPathExpr expands from the container's environment and
// the subPath is made, writable by a non-root container, and seen through
// the whole volume; a ConfigMap key mounts as a file by subPath; an
// expansion that is missing a value, climbs out with '..' or is absolute
// holds the container in CreateContainerConfigError with Kubernetes'
// message, and a pod whose annotation arrives later starts then.
func TestSubPath(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: subpath-config}\ndata: {greeting: hello}\n")
	for _, p := range [][4]string{
		{"subpath-writes", "foo", "mysubpath: mypath", "$(ANNOTATION)/$(POD_NAME)"},
		{"subpath-later", "foo", "notmysubpath: mypath", "$(ANNOTATION)/$(POD_NAME)"},
		{"subpath-backsteps", "..", "mysubpath: mypath", "$(POD_NAME)"},
		{"subpath-absolute", "/tmp", "mysubpath: mypath", "$(POD_NAME)"},
	} {
		cl.apply(t, fmt.Sprintf(subPathPod, p[0], p[1], p[2], p[3]))
	}
	running := func(name string) {
		framework.Eventually(t, 60*time.Second, name+" running", func() error {
			if p := getPod(t, c, name); p.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %s: %v", p.GetStatus().GetPhase(), containerStatus(p).GetState())
			}
			return nil
		})
	}
	running("subpath-writes")
	id := strings.TrimPrefix(containerStatus(getPod(t, c, "subpath-writes")).GetContainerId(), "containerd://")
	if out, code := execIn(t, cl.ctd, id, "touch", "/volume_mount/mypath/foo/test.log"); code != 0 {
		t.Errorf("touch in the subPath through the volume: exit %d: %s", code, out)
	}
	if out, code := execIn(t, cl.ctd, id, "ls", "/subpath_mount"); code != 0 || out != "test.log\n" {
		t.Errorf("ls /subpath_mount: %q (exit %d), want test.log", out, code)
	}
	if out, code := execIn(t, cl.ctd, id, "touch", "/subpath_mount/by-non-root"); code != 0 {
		t.Errorf("touch in the subPath as uid 1000: exit %d: %s", code, out)
	}
	if out, code := execIn(t, cl.ctd, id, "cat", "/etc/greeting"); code != 0 || out != "hello" {
		t.Errorf("cat /etc/greeting: %q (exit %d), want hello", out, code)
	}

	for name, message := range map[string]string{
		"subpath-later":     "missing value for ANNOTATION",
		"subpath-backsteps": "unable to provision SubPath `..`: must not contain '..'",
		"subpath-absolute":  "error SubPath `/tmp` must not be an absolute path",
	} {
		framework.Eventually(t, 60*time.Second, name+" held", func() error {
			p := getPod(t, c, name)
			w := containerStatus(p).GetState().GetWaiting()
			if p.GetStatus().GetPhase() != "Pending" || w.GetReason() != "CreateContainerConfigError" || w.GetMessage() != message {
				return fmt.Errorf("phase %s, waiting %v; want Pending, CreateContainerConfigError: %s", p.GetStatus().GetPhase(), w, message)
			}
			return nil
		})
	}
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "annotate", "pod", "subpath-later", "mysubpath=mypath"); err != nil {
		t.Fatalf("kubectl annotate: %v\n%s", err, out)
	}
	running("subpath-later")
}
