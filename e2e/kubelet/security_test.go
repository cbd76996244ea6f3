package kubelet

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

const securityPod = `apiVersion: v1
kind: ConfigMap
metadata: {name: secured-config}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: secured}
spec:
  restartPolicy: Never
  securityContext:
    runAsUser: 1001
    runAsGroup: 2002
    supplementalGroups: [3000]
    fsGroup: 4000
  containers:
  - name: pod-level
    image: registry.skiff.local/testserver:1.0
    command: [id]
  - name: override
    image: registry.skiff.local/testserver:1.0
    command: [id]
    securityContext: {runAsUser: 1002, runAsGroup: 2003}
  - name: reader
    image: registry.skiff.local/testserver:1.0
    command: [cat, /etc/config/greeting]
    volumeMounts:
    - {name: config, mountPath: /etc/config}
  - name: writer
    image: registry.skiff.local/testserver:1.0
    command: [touch, /scratch/made]
    volumeMounts:
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: config
    configMap: {name: secured-config, defaultMode: 0400}
  - name: scratch
    emptyDir: {}
`

// TestPodSecurityContext: the pod's runAsUser, runAsGroup,
// supplementalGroups and fsGroup apply to its containers, a container's
// own user and group override the pod's, and volumes belong to the
// fsGroup: a non-root container reads a ConfigMap file of mode 0400
// through its group and writes into an emptyDir.
func TestPodSecurityContext(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, securityPod)
	framework.Eventually(t, 60*time.Second, "secured Succeeded", func() error {
		if p := getPod(t, c, "secured"); p.GetStatus().GetPhase() != "Succeeded" {
			var states []string
			for _, cs := range p.GetStatus().GetContainerStatuses() {
				states = append(states, fmt.Sprintf("%s: %v", cs.GetName(), cs.GetState()))
			}
			return fmt.Errorf("phase %s: %s", p.GetStatus().GetPhase(), strings.Join(states, "; "))
		}
		return nil
	})
	logs := func(container string) string {
		out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "logs", "secured", "-c", container)
		if err != nil {
			t.Fatalf("kubectl logs -c %s: %v\n%s", container, err, out)
		}
		return strings.TrimSpace(out)
	}
	// The runtime adds the primary group to the supplementary ones.
	for container, want := range map[string]string{"pod-level": "uid=1001 gid=2002", "override": "uid=1002 gid=2003"} {
		got := logs(container)
		ids, groups, _ := strings.Cut(got, " groups=")
		list := strings.Split(groups, ",")
		if ids != want || !slices.Contains(list, "3000") || !slices.Contains(list, "4000") {
			t.Errorf("%s: id says %q, want %s with groups 3000 (supplementalGroups) and 4000 (fsGroup)", container, got, want)
		}
	}
	if got := logs("reader"); got != "hello" {
		t.Errorf("reader: %q, want hello", got)
	}
}
