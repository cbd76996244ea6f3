package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/e2e/framework"
)

// TestDefaultClassClaimLifecycle: a claim of the default class (standard,
// WaitForFirstConsumer) stays Pending until a pod using it is scheduled,
// then is provisioned on the pod's node and bound; what one pod writes the
// next pod with the claim reads, on the same node; deleting the claim
// (reclaim Delete) removes the PV and the volume's directory. The driver
// logs its calls: the volume was only ever reached through CSI, in
// Kubernetes' order.
func TestDefaultClassClaimLifecycle(t *testing.T) {
	cl := startCluster(t, []string{"node-a", "node-b"})
	ctx := context.Background()
	cl.claim(t, "data", "64Mi", defaultClass)
	cl.waitEvent(t, "PersistentVolumeClaim", "data", "WaitForFirstConsumer", "waiting for first consumer")
	if c, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{}); err != nil ||
		c.Status.Phase != corev1.ClaimPending || c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "standard" {
		t.Fatalf("before any pod: claim %+v, %v; want Pending in class standard", c, err)
	}

	cl.pod(t, "writer", `[write, /data/hello, persisted]`, "data")
	writer := cl.waitPodPhase(t, "writer", corev1.PodSucceeded)
	claim := cl.waitClaimBound(t, "data")
	pv := cl.getPV(t, claim.Spec.VolumeName)
	if got := nodeOf(pv); got != writer.Spec.NodeName {
		t.Fatalf("the PV is on %q, the pod ran on %q", got, writer.Spec.NodeName)
	}
	if pv.Annotations["pv.kubernetes.io/provisioned-by"] != driverName || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		!slices.Contains(pv.Finalizers, "external-provisioner.volume.kubernetes.io/finalizer") ||
		claim.Annotations["volume.kubernetes.io/selected-node"] != writer.Spec.NodeName {
		t.Fatalf("PV %s: annotations %v, reclaim %s, finalizers %v; claim annotations %v",
			pv.Name, pv.Annotations, pv.Spec.PersistentVolumeReclaimPolicy, pv.Finalizers, claim.Annotations)
	}
	cl.waitEvent(t, "PersistentVolumeClaim", "data", "ProvisioningSucceeded", pv.Name)
	dir := cl.volumeDir(t, pv)
	if data, err := os.ReadFile(filepath.Join(dir, "hello")); err != nil || string(data) != "persisted" {
		t.Fatalf("the volume's directory holds %q, %v", data, err)
	}

	cl.deletePod(t, "writer")
	cl.pod(t, "reader", `[cat, /data/hello]`, "data")
	reader := cl.waitPodPhase(t, "reader", corev1.PodSucceeded)
	if reader.Spec.NodeName != writer.Spec.NodeName {
		t.Fatalf("the reader ran on %s, the volume is on %s", reader.Spec.NodeName, writer.Spec.NodeName)
	}
	if got := cl.logs(t, "reader"); got != "persisted" {
		t.Fatalf("the reader read %q, want %q", got, "persisted")
	}
	cl.deletePod(t, "reader")

	if err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitGone(t, "PV "+pv.Name, func() error {
		_, err := cl.kube.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		return err
	})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the volume's directory %s is left: %v", dir, err)
	}

	// Only CSI reached the volume: created by the provisioner, published
	// and unpublished by the kubelet for each pod, deleted by the
	// provisioner; the other node's driver never saw it. (Only DeleteVolume
	// may repeat, at the end: the provisioner may delete again, idempotently,
	// while the PV's finalizer goes.)
	want := []string{"CreateVolume", "NodePublishVolume", "NodeUnpublishVolume", "NodePublishVolume", "NodeUnpublishVolume", "DeleteVolume"}
	node := cl.nodes[writer.Spec.NodeName]
	got := slices.DeleteFunc(node.calls(t, pv.Spec.CSI.VolumeHandle), func(m string) bool { return m == "NodeGetVolumeStats" })
	for len(got) > 1 && got[len(got)-1] == "DeleteVolume" && got[len(got)-2] == "DeleteVolume" {
		got = got[:len(got)-1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("CSI calls for %s: %v, want %v", pv.Name, got, want)
	}
	for name, other := range cl.nodes {
		if name != writer.Spec.NodeName && len(other.calls(t, pv.Spec.CSI.VolumeHandle)) > 0 {
			t.Errorf("node %s's driver was called for %s: %v", name, pv.Name, other.calls(t, pv.Spec.CSI.VolumeHandle))
		}
	}
}

// TestRetainKeepsData: with a class of reclaim policy Retain, deleting
// the claim leaves the PV Released and its data in place, still after a
// later claim of reclaim Delete has come and gone on the same node.
func TestRetainKeepsData(t *testing.T) {
	cl := startCluster(t, []string{"node-a"})
	ctx := context.Background()
	cl.apply(t, `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: keep}
provisioner: `+driverName+`
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
`)
	cl.claim(t, "kept", "16Mi", "keep")
	cl.pod(t, "writer", `[write, /data/hello, kept]`, "kept")
	cl.waitPodPhase(t, "writer", corev1.PodSucceeded)
	pv := cl.getPV(t, cl.waitClaimBound(t, "kept").Spec.VolumeName)
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Fatalf("PV %s reclaim policy %s, want Retain (the class's)", pv.Name, pv.Spec.PersistentVolumeReclaimPolicy)
	}
	cl.deletePod(t, "writer")
	if err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "kept", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, timeout, "PV "+pv.Name+" Released", func() error {
		got, err := cl.kube.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.Phase != corev1.VolumeReleased {
			return fmt.Errorf("phase %s", got.Status.Phase)
		}
		return nil
	})
	// A later claim of reclaim Delete on the same node, provisioned and
	// deleted to the end, shows the provisioner has handled the events
	// after the release: had it meant to delete the retained volume, it
	// would have by now.
	cl.claim(t, "later", "16Mi", defaultClass)
	cl.pod(t, "later", `[write, /data/hello, later]`, "later")
	cl.waitPodPhase(t, "later", corev1.PodSucceeded)
	later := cl.getPV(t, cl.waitClaimBound(t, "later").Spec.VolumeName)
	laterDir := cl.volumeDir(t, later)
	cl.deletePod(t, "later")
	if err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "later", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.waitGone(t, "PV "+later.Name, func() error {
		_, err := cl.kube.CoreV1().PersistentVolumes().Get(ctx, later.Name, metav1.GetOptions{})
		return err
	})
	if _, err := os.Stat(laterDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the later volume's directory %s is left: %v", laterDir, err)
	}

	if got := cl.getPV(t, pv.Name); got.Status.Phase != corev1.VolumeReleased {
		t.Fatalf("PV %s went %s after the release, want it to stay Released", pv.Name, got.Status.Phase)
	}
	if data, err := os.ReadFile(filepath.Join(cl.volumeDir(t, pv), "hello")); err != nil || string(data) != "kept" {
		t.Fatalf("the retained volume holds %q, %v", data, err)
	}
	if calls := cl.nodes["node-a"].calls(t, pv.Spec.CSI.VolumeHandle); slices.Contains(calls, "DeleteVolume") {
		t.Fatalf("a retained volume was deleted: %v", calls)
	}
}
