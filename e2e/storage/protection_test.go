package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/e2e/framework"
)

// TestClaimInUseIsProtected: deleting a claim a running pod uses leaves
// it Terminating, held by kubernetes.io/pvc-protection, still Bound and
// its data in place, until the pod is gone; then the claim, its PV and
// the volume's directory go.
func TestClaimInUseIsProtected(t *testing.T) {
	cl := startCluster(t, []string{"node-a"})
	ctx := context.Background()
	cl.claim(t, "busy", "16Mi", defaultClass)
	cl.pod(t, "user", `[sleep, infinity]`, "busy")
	cl.waitPodPhase(t, "user", corev1.PodRunning)
	pv := cl.getPV(t, cl.waitClaimBound(t, "busy").Spec.VolumeName)
	dir := cl.volumeDir(t, pv)

	if err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, "busy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, timeout, "claim busy Terminating", func() error {
		c, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "busy", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c.DeletionTimestamp == nil || !slices.Contains(c.Finalizers, "kubernetes.io/pvc-protection") || c.Status.Phase != corev1.ClaimBound {
			return fmt.Errorf("deletionTimestamp %v, finalizers %v, phase %s", c.DeletionTimestamp, c.Finalizers, c.Status.Phase)
		}
		return nil
	})
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "get", "pvc", "busy", "--no-headers"); err != nil || !containsAll(out, "busy", "Terminating") {
		t.Errorf("kubectl get pvc busy: %q, %v; want it Terminating", out, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the volume of a claim in use went: %v", err)
	}
	if p := cl.getPod(t, "user"); p.Status.Phase != corev1.PodRunning {
		t.Fatalf("the pod using the claim is %s", p.Status.Phase)
	}

	cl.deletePod(t, "user")
	cl.waitGone(t, "claim busy", func() error {
		_, err := cl.kube.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "busy", metav1.GetOptions{})
		return err
	})
	cl.waitGone(t, "PV "+pv.Name, func() error {
		_, err := cl.kube.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		return err
	})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the volume's directory is left: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !slices.Contains(splitFields(s), p) {
			return false
		}
	}
	return true
}
