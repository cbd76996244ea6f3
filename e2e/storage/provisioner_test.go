package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

// TestProvisionerOnTheAPI runs the provisioner and driver against the
// apiserver alone, the test doing what the scheduler and the PV
// controller do to a claim (selected node, storage-provisioner
// annotation, the bind): the provisioner creates the PV through the REST
// face with the add-on's RBAC, publishes the node's CSIStorageCapacity,
// ignores claims selected for another node, and deletes a Released PV
// with reclaim Delete and its volume.
func TestProvisionerOnTheAPI(t *testing.T) {
	srv := framework.StartAPIServer(t)
	kube, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	cl := &cluster{srv: srv, kube: kube, nodes: map[string]*node{}}
	cl.applyAddon(t)
	n := &node{dataDir: filepath.Join(t.TempDir(), "volumes"), callLog: filepath.Join(t.TempDir(), "calls.jsonl")}
	cl.nodes["node-a"] = n
	socket := filepath.Join(t.TempDir(), "csi.sock")
	n.driver = framework.StartBinary(t, "skiff-csi-local", framework.Binary(t, "skiff-csi-local"),
		"--endpoint", socket, "--registration-dir", "", "--data-dir", n.dataDir, "--node-id", "node-a",
		"--capacity", "1Gi", "--call-log", n.callLog)
	n.provisioner = framework.StartBinary(t, "skiff-csi-provisioner", framework.Binary(t, "skiff-csi-provisioner"),
		"--csi-address", socket, "--kubeconfig", cl.provisionerKubeconfig(t), "--node-name", "node-a",
		"--capacity-poll-interval", "1s")
	ctx := context.Background()

	framework.Eventually(t, timeout, "node-a's CSIStorageCapacity for standard", func() error {
		list, err := kube.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, c := range list.Items {
			if c.StorageClassName == "standard" && c.NodeTopology.MatchLabels["topology.local.csi.skiff.dev/node"] == "node-a" && c.Capacity.Value() == 1<<30 {
				return nil
			}
		}
		return fmt.Errorf("objects %+v; provisioner: %s", list.Items, n.provisioner.Logs())
	})

	mine := selectedClaim(t, kube, "mine", "node-a")
	others := selectedClaim(t, kube, "others", "node-b")
	var pv *corev1.PersistentVolume
	framework.Eventually(t, timeout, "the PV of claim mine", func() error {
		pv, err = kube.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(mine.UID), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%w; provisioner: %s", err, n.provisioner.Logs())
		}
		return nil
	})
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != mine.UID || nodeOf(pv) != "node-a" || pv.Spec.StorageClassName != "standard" ||
		pv.Spec.Capacity.Storage().Value() != 100<<20 || pv.Annotations["pv.kubernetes.io/provisioned-by"] != driverName {
		t.Fatalf("PV %+v", pv)
	}
	cl.waitEvent(t, "PersistentVolumeClaim", "mine", "ProvisioningSucceeded", pv.Name)
	if _, err := kube.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(others.UID), metav1.GetOptions{}); err == nil {
		t.Fatal("node-a's provisioner provisioned a claim selected for node-b")
	}
	framework.Eventually(t, timeout, "capacity down by 100Mi", func() error {
		list, err := kube.StorageV1().CSIStorageCapacities("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != 1 {
			return fmt.Errorf("%d objects, %v", len(list.Items), err)
		}
		if got := list.Items[0].Capacity.Value(); got != 1<<30-100<<20 {
			return fmt.Errorf("capacity %d", got)
		}
		return nil
	})

	// Released, as the PV controller leaves a PV whose claim was deleted.
	if err := kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "mine", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	pv = cl.getPV(t, pv.Name)
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := kube.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Deleted, its finalizer removed; kubernetes.io/pv-protection, which
	// admission adds, holds it with no controller-manager here.
	framework.Eventually(t, timeout, "PV "+pv.Name+" deleted by the provisioner", func() error {
		got, err := kube.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if got.DeletionTimestamp == nil || slices.Contains(got.Finalizers, "external-provisioner.volume.kubernetes.io/finalizer") {
			return fmt.Errorf("deletionTimestamp %v, finalizers %v", got.DeletionTimestamp, got.Finalizers)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(n.dataDir, pv.Spec.CSI.VolumeHandle)); !os.IsNotExist(err) {
		t.Fatalf("the volume's directory is left: %v", err)
	}
}

// selectedClaim creates a claim of the default class as the scheduler and
// the PV controller leave it for the provisioner: selected for node, the
// driver named as its provisioner.
func selectedClaim(t *testing.T, kube kubernetes.Interface, name, node string) *corev1.PersistentVolumeClaim {
	t.Helper()
	class := "standard"
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			"volume.kubernetes.io/selected-node":       node,
			"volume.kubernetes.io/storage-provisioner": driverName,
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Mi")}},
		},
	}
	created, err := kube.CoreV1().PersistentVolumeClaims(ns).Create(context.Background(), c, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create claim %s: %v", name, err)
	}
	return created
}
