package storage

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/e2e/framework"
)

// staticPV is a PV %[1]s of %[2]s, access mode %[3]s, class %[4]q, on
// the local driver's volume %[1]s.
const staticPV = `apiVersion: v1
kind: PersistentVolume
metadata: {name: %[1]s}
spec:
  capacity: {storage: %[2]s}
  accessModes: [%[3]s]
  storageClassName: %[4]q
  persistentVolumeReclaimPolicy: Retain
  csi: {driver: ` + driverName + `, volumeHandle: %[1]s}
`

// TestStaticBinding: a claim binds to the pre-made PV that matches its
// size, access mode and class, the smallest that fits; a claim that none
// matches stays Pending with Kubernetes' FailedBinding event; a PV with
// an invalid access mode is refused as Invalid.
func TestStaticBinding(t *testing.T) {
	cl := startCluster(t, nil)
	ctx := context.Background()
	// The decoys of another access mode or class are smaller than pv-fits
	// yet big enough: a binder that ignored mode or class would take one.
	for _, pv := range [][4]string{
		{"pv-rwx", "600Mi", "ReadWriteMany", ""},
		{"pv-other-class", "600Mi", "ReadWriteOnce", "other"},
		{"pv-small", "100Mi", "ReadWriteOnce", ""},
		{"pv-fits", "1Gi", "ReadWriteOnce", ""},
		{"pv-big", "5Gi", "ReadWriteOnce", ""},
	} {
		cl.apply(t, fmt.Sprintf(staticPV, pv[0], pv[1], pv[2], pv[3]))
	}
	cl.claim(t, "fits", "500Mi", "")
	if got := cl.waitClaimBound(t, "fits").Spec.VolumeName; got != "pv-fits" {
		t.Fatalf("claim fits bound to %s, want pv-fits (RWO, no class, smallest of at least 500Mi)", got)
	}
	framework.Eventually(t, timeout, "pv-fits Bound to default/fits", func() error {
		pv := cl.getPV(t, "pv-fits")
		if pv.Status.Phase != corev1.VolumeBound || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "fits" {
			return fmt.Errorf("phase %s, claimRef %v", pv.Status.Phase, pv.Spec.ClaimRef)
		}
		return nil
	})

	cl.claim(t, "too-big", "10Gi", "")
	cl.waitEvent(t, "PersistentVolumeClaim", "too-big", "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	if c, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "too-big", metav1.GetOptions{}); err != nil || c.Status.Phase != corev1.ClaimPending {
		t.Fatalf("claim too-big: %v, %v; want Pending", c.Status.Phase, err)
	}

	bad := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-bad-mode"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driverName, VolumeHandle: "x"}},
		},
	}
	_, err := cl.kube.CoreV1().PersistentVolumes().Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("a PV with access mode ReadWriteSometimes: %v, want Invalid", err)
	}
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 || st.Status().Details.Causes[0].Field != "spec.accessModes" {
		t.Errorf("Invalid without a spec.accessModes cause: %v", err)
	}
}
