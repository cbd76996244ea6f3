package controllermanager

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const cidrFinalizer = "networking.k8s.io/service-cidr-finalizer"

// TestServiceCIDRs: the service-cidr-controller gives every ServiceCIDR
// its finalizer and Ready condition; a deleted range that a Service's
// address still needs stays, Ready False with reason Terminating, and goes
// once that Service is gone; a range that another range covers goes at
// once, addresses or not.
func TestServiceCIDRs(t *testing.T) {
	e := setup(t, "--controllers=service-cidr-controller")
	cidrs := e.c.NetworkingV1().ServiceCIDRs()
	ready := func(name, status, reason string) func() error {
		return func() error {
			sc, err := cidrs.Get(e.ctx, name)
			if err != nil {
				return err
			}
			if !slices.Contains(sc.GetMetadata().GetFinalizers(), cidrFinalizer) {
				return fmt.Errorf("finalizers %v", sc.GetMetadata().GetFinalizers())
			}
			for _, c := range sc.GetStatus().GetConditions() {
				if c.GetType() == "Ready" && c.GetStatus() == status && c.GetReason() == reason {
					return nil
				}
			}
			return fmt.Errorf("conditions %v", sc.GetStatus().GetConditions())
		}
	}
	gone := func(name string) func() error {
		return func() error {
			if _, err := cidrs.Get(e.ctx, name); !client.IsNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		}
	}
	framework.Eventually(t, time.Minute, "the default ServiceCIDR has the finalizer and is Ready", ready("kubernetes", "True", ""))

	for name, cidr := range map[string]string{"wide": "198.51.100.0/24", "narrow": "198.51.100.0/28"} {
		if _, err := cidrs.Create(e.ctx, &networkingv1.ServiceCIDR{Metadata: &metav1.ObjectMeta{Name: name},
			Spec: &networkingv1.ServiceCIDRSpec{Cidrs: []string{cidr}}}, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, time.Minute, "the new ranges are Ready", func() error {
		return errors.Join(ready("wide", "True", "")(), ready("narrow", "True", "")())
	})
	svcs := e.c.CoreV1().Services("default")
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "in-wide"},
		Spec: &corev1.ServiceSpec{ClusterIp: "198.51.100.100", Ports: []*corev1.ServicePort{{Port: 80}}}}
	if _, err := svcs.Create(e.ctx, svc, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	inNarrow := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "in-narrow"},
		Spec: &corev1.ServiceSpec{ClusterIp: "198.51.100.5", Ports: []*corev1.ServicePort{{Port: 80}}}}
	if _, err := svcs.Create(e.ctx, inNarrow, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}

	// "narrow" lies within "wide": it goes though it holds an address.
	if _, err := cidrs.Delete(e.ctx, "narrow", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, time.Minute, "the covered range is deleted", gone("narrow"))

	// "wide" is the only range of its Service's address: it stays.
	if _, err := cidrs.Delete(e.ctx, "wide", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, time.Minute, "the range in use is Terminating", ready("wide", "False", "Terminating"))
	if _, err := svcs.Create(e.ctx, &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "late"},
		Spec: &corev1.ServiceSpec{ClusterIp: "198.51.100.101", Ports: []*corev1.ServicePort{{Port: 80}}}}, client.WriteOptions{}); !client.IsInvalid(err) {
		t.Errorf("a Service in a range being deleted: got %v, want Invalid", err)
	}
	if _, err := cidrs.Get(e.ctx, "wide"); err != nil {
		t.Fatalf("the range in use: %v", err)
	}
	for _, name := range []string{"in-wide", "in-narrow"} {
		if _, err := svcs.Delete(e.ctx, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, time.Minute, "the range goes once its addresses are released", gone("wide"))
}
