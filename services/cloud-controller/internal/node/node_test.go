package node

import (
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/cloudprovider"
)

func TestInitialize(t *testing.T) {
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n"}, Spec: &corev1.NodeSpec{Taints: []*corev1.Taint{
		{Key: UninitializedTaint, Effect: "NoSchedule"}, {Key: "keep", Effect: "NoSchedule"}}}}
	initialize(n, &cloudprovider.InstanceMetadata{ProviderID: "x://n", InstanceType: "big", Zone: "z"})
	if n.GetSpec().GetProviderId() != "x://n" {
		t.Errorf("providerID: got %q, want x://n", n.GetSpec().GetProviderId())
	}
	labels := n.GetMetadata().GetLabels()
	if labels[ZoneLabel] != "z" || labels[InstanceTypeLabel] != "big" {
		t.Errorf("labels: got %v", labels)
	}
	if _, ok := labels[RegionLabel]; ok {
		t.Errorf("an empty region became a label: %v", labels)
	}
	if hasTaint(n, UninitializedTaint) || !hasTaint(n, "keep") {
		t.Errorf("taints: got %v, want only keep", n.GetSpec().GetTaints())
	}

	n.Spec.ProviderId = "set://before"
	initialize(n, &cloudprovider.InstanceMetadata{ProviderID: "x://n"})
	if n.GetSpec().GetProviderId() != "set://before" {
		t.Errorf("a provider ID already set changed to %q", n.GetSpec().GetProviderId())
	}
}

func TestAddressesEqual(t *testing.T) {
	a := []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.1"}}
	b := []*corev1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.1"}}
	c := []*corev1.NodeAddress{{Type: "ExternalIP", Address: "10.0.0.1"}}
	if !addressesEqual(a, b) || addressesEqual(a, c) || addressesEqual(a, nil) {
		t.Fatal("addressesEqual is wrong")
	}
}
