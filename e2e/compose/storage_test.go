package compose

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// storageManifest is a claim of the default class and a pod that writes
// into it.
const storageManifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: e2e-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: e2e-writer}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: ` + testImage + `
    command: [write, /data/hello, stored]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: e2e-data}
`

// checkStorage: the local CSI driver, which skiff-node runs, is
// registered on each node and its provisioner DaemonSet runs a ready pod
// on each, and a pod with a claim of the default class runs and writes
// into the volume provisioned for it on its node.
func (s *stack) checkStorage(t *testing.T) {
	framework.Eventually(t, 2*time.Minute, "the driver in both nodes' CSINode", func() error {
		out, err := s.kubectl(t, "get", "csinodes", "-o", `jsonpath={range .items[*]}{.metadata.name} {.spec.drivers[*].name}{"\n"}{end}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if n := strings.Count(out, " local.csi.skiff.dev"); n != 2 {
			return fmt.Errorf("CSINodes: %q", out)
		}
		return nil
	})
	framework.Eventually(t, 2*time.Minute, "the csi-local DaemonSet ready on both nodes", func() error {
		out, err := s.kubectl(t, "-n", "kube-system", "get", "pods", "-l", "app.kubernetes.io/name=csi-local",
			"-o", `jsonpath={range .items[*]}{.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		nodes := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[1] == "True" {
				nodes[f[0]] = true
			}
		}
		if len(nodes) != 2 {
			return fmt.Errorf("ready driver pods by node: %q", out)
		}
		return nil
	})
	s.mustKubectl(t, storageManifest, "apply", "-f", "-")
	t.Cleanup(func() { _, _ = s.kubectl(t, "delete", "pod/e2e-writer", "pvc/e2e-data", "--wait=false") })
	framework.Eventually(t, 3*time.Minute, "the writer Succeeded with its claim Bound", func() error {
		out, err := s.kubectl(t, "get", "pod/e2e-writer", "pvc/e2e-data", "-o", `jsonpath={range .items[*]}{.status.phase} {end}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if strings.TrimSpace(out) != "Succeeded Bound" {
			return fmt.Errorf("pod and claim: %q", out)
		}
		return nil
	})
	node := strings.TrimSpace(s.mustKubectl(t, "", "get", "pod", "e2e-writer", "-o", "jsonpath={.spec.nodeName}"))
	pv := strings.TrimSpace(s.mustKubectl(t, "", "get", "pvc", "e2e-data", "-o", "jsonpath={.spec.volumeName}"))
	affinity := s.mustKubectl(t, "", "get", "pv", pv, "-o", "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}")
	if strings.TrimSpace(affinity) != node {
		t.Errorf("PV %s is on node %q, the pod ran on %q", pv, affinity, node)
	}
}
