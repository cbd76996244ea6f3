package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// hostPathClaim is a static hostPath PV %[1]s pre-bound to the claim
// data, the claim, and a pod that writes a file into it.
const hostPathClaim = `apiVersion: v1
kind: PersistentVolume
metadata: {name: static-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: default, name: data}
  hostPath: {path: %[1]q, type: DirectoryOrCreate}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: static-pv
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  nodeName: node-a
  restartPolicy: Never
  containers:
  - name: c
    image: registry.skiff.local/testserver:1.0
    command: [touch, /data/written-by-pod]
    volumeMounts:
    - {name: data, mountPath: /data}
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`

// TestHostPathClaim: a pod with a claim waits (FailedMount, "PVC is not
// bound") until the claim is Bound, then mounts the static hostPath PV
// and writes into it on the host. The scheduler places no pod whose claim
// is unbound, so the pod names its node itself, and the
// persistentvolume-binder is off so that the claim stays unbound until
// the test binds it.
func TestHostPathClaim(t *testing.T) {
	cl := startCluster(t, "--controllers=*,-persistentvolume-binder")
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	dir := filepath.Join(t.TempDir(), "pv")
	cl.apply(t, fmt.Sprintf(hostPathClaim, dir))
	ctx := context.Background()
	framework.Eventually(t, 60*time.Second, "a FailedMount event while the claim is not bound", func() error {
		evs, err := c.CoreV1().Events("default").List(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range evs.GetItems() {
			if e.GetReason() == "FailedMount" && e.GetInvolvedObject().GetName() == "writer" {
				return nil
			}
		}
		return fmt.Errorf("no FailedMount event yet")
	})
	bind(t, c)
	framework.Eventually(t, 90*time.Second, "the pod's file on the host", func() error {
		if _, err := os.Stat(filepath.Join(dir, "written-by-pod")); err != nil {
			p := getPod(t, c, "writer")
			return fmt.Errorf("%w (pod %s)", err, p.GetStatus().GetPhase())
		}
		return nil
	})
}

// bind binds the claim and the PV, as the PV controller would (none runs
// here): the PV's claimRef gets the claim's uid, both go Bound.
func bind(t *testing.T, c *client.Client) {
	t.Helper()
	ctx := context.Background()
	claims := client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](c, "default")
	pvs := client.For[*corev1.PersistentVolume, *corev1.PersistentVolumeList](c, "")
	framework.Eventually(t, 30*time.Second, "the claim and the PV bound", func() error {
		pvc, err := claims.Get(ctx, "data")
		if err != nil {
			return err
		}
		pv, err := pvs.Get(ctx, "static-pv")
		if err != nil {
			return err
		}
		pv.Spec.ClaimRef.Uid = pvc.GetMetadata().GetUid()
		if pv, err = pvs.Update(ctx, pv, client.WriteOptions{}); err != nil {
			return err
		}
		pv.Status = &corev1.PersistentVolumeStatus{Phase: "Bound"}
		if _, err := pvs.UpdateStatus(ctx, pv, client.WriteOptions{}); err != nil {
			return err
		}
		pvc.Status = &corev1.PersistentVolumeClaimStatus{Phase: "Bound"}
		_, err = claims.UpdateStatus(ctx, pvc, client.WriteOptions{})
		return err
	})
}
