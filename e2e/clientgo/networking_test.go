package clientgo

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"skiff.dev/e2e/framework"
)

// TestIPAddresses: networking.k8s.io/v1 IPAddresses through client-go, in
// JSON and protobuf, as the conformance suite's "IPAddress API
// operations" spec uses them (an IPv4 and an IPv6 address named by
// themselves, with a parent reference), and Kubernetes' validation: a
// name that is an address in canonical form, a parent reference with a
// resource and a name, and one that never changes.
func TestIPAddresses(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		discovered(t, cs, "networking.k8s.io/v1", "ipaddresses")
		ips := cs.NetworkingV1().IPAddresses()
		ref := &networkingv1.ParentReference{Group: "mygroup", Resource: "myresources", Namespace: "foo", Name: "bar"}
		v4 := &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "255.255.255.255", Labels: map[string]string{"type": "broadcast"}},
			Spec: networkingv1.IPAddressSpec{ParentRef: ref}}
		v6 := &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "fe80::42:1dff:fe84:f9e2", Labels: map[string]string{"type": "link-local"}},
			Spec: networkingv1.IPAddressSpec{ParentRef: ref}}
		for _, ip := range []*networkingv1.IPAddress{v4, v6} {
			if _, err := ips.Create(ctx, ip, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create %s: %v", ip.Name, err)
			}
		}
		defer func() {
			_ = ips.DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "type in (broadcast,link-local)"})
		}()
		patched, err := ips.Patch(ctx, v4.Name, types.MergePatchType, []byte(`{"metadata":{"annotations":{"patched":"true"}}}`), metav1.PatchOptions{})
		if err != nil || patched.Annotations["patched"] != "true" {
			t.Fatalf("patch: got %v (%v)", patched, err)
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := ips.Get(ctx, v4.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Annotations["updated"] = "true"
			_, err = ips.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		got, err := ips.Get(ctx, v4.Name, metav1.GetOptions{})
		if err != nil || got.Annotations["updated"] != "true" || *got.Spec.ParentRef != *ref {
			t.Fatalf("get: got %+v (%v)", got, err)
		}
		list, err := ips.List(ctx, metav1.ListOptions{LabelSelector: "type=broadcast"})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("list type=broadcast: got %v (%v), want one", list, err)
		}
		w, err := ips.Watch(ctx, metav1.ListOptions{LabelSelector: "type=broadcast"})
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		w.Stop()

		got.Spec.ParentRef = &networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: "other"}
		if _, err := ips.Update(ctx, got, metav1.UpdateOptions{}); !hasCause(err, "spec.parentRef") {
			t.Errorf("change the parent: got %v, want Invalid on spec.parentRef (immutable)", err)
		}
		for _, c := range []struct {
			what, field string
			bad         *networkingv1.IPAddress
		}{
			{"leading zeros", "metadata.name", &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "10.000.0.1"}, Spec: networkingv1.IPAddressSpec{ParentRef: ref}}},
			{"not canonical", "metadata.name", &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "FE80::1"}, Spec: networkingv1.IPAddressSpec{ParentRef: ref}}},
			{"no parent", "spec.parentRef", &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "10.0.0.1"}}},
			{"no resource", "spec.parentRef.resource", &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "10.0.0.2"}, Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Name: "x"}}}},
			{"a name with a slash", "spec.parentRef.name", &networkingv1.IPAddress{ObjectMeta: metav1.ObjectMeta{Name: "10.0.0.3"}, Spec: networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Resource: "services", Name: "a/b"}}}},
		} {
			if _, err := ips.Create(ctx, c.bad, metav1.CreateOptions{}); !hasCause(err, c.field) {
				t.Errorf("%s: got %v, want Invalid on %s", c.what, err, c.field)
			}
		}

		if err := ips.Delete(ctx, v4.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if err := ips.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "type=link-local"}); err != nil {
			t.Fatalf("deletecollection: %v", err)
		}
		if list, err := ips.List(ctx, metav1.ListOptions{LabelSelector: "type in (broadcast,link-local)"}); err != nil || len(list.Items) != 0 {
			t.Errorf("list after the deletes: got %v (%v), want none", list, err)
		}
	})
}

// TestServiceCIDRs: the default ServiceCIDR "kubernetes" is the range of
// --service-cluster-ip-range, Ready, and readable through /status, as the
// conformance suite's "ServiceCIDR API operations" spec reads it; every
// Service's cluster IP is an IPAddress naming it, gone with the Service;
// a second ServiceCIDR lets Services take addresses from its range; the
// CIDRs are validated and never change.
func TestServiceCIDRs(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		discovered(t, cs, "networking.k8s.io/v1", "servicecidrs", "servicecidrs/status")
		cidrs := cs.NetworkingV1().ServiceCIDRs()
		def, err := cidrs.Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get the default ServiceCIDR: %v", err)
		}
		if len(def.Spec.CIDRs) != 1 || def.Spec.CIDRs[0] != "10.96.0.0/12" {
			t.Errorf("default ServiceCIDR cidrs: got %v, want [10.96.0.0/12]", def.Spec.CIDRs)
		}
		if c := findCondition(def.Status.Conditions, "Ready"); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("default ServiceCIDR conditions: got %+v, want Ready True", def.Status.Conditions)
		}
		raw, err := cs.NetworkingV1().RESTClient().Get().Resource("servicecidrs").Name("kubernetes").SubResource("status").
			SetHeader("Accept", "application/json").DoRaw(ctx)
		if err != nil {
			t.Fatalf("get /status: %v", err)
		}
		var head struct {
			Kind       string
			APIVersion string `json:"apiVersion"`
			Metadata   struct{ UID types.UID }
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.Kind != "ServiceCIDR" || head.APIVersion != "networking.k8s.io/v1" || head.Metadata.UID != def.UID {
			t.Errorf("get /status: got %s (%v), want the ServiceCIDR of uid %s", raw, err, def.UID)
		}
		if list, err := cidrs.List(ctx, metav1.ListOptions{}); err != nil || len(list.Items) == 0 {
			t.Fatalf("list: got %v (%v), want the default one", list, err)
		}
		w, err := cidrs.Watch(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		w.Stop()

		// Every cluster IP is an IPAddress that names its Service.
		svcs := cs.CoreV1().Services("default")
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{GenerateName: "cidr-"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
		made, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := cs.NetworkingV1().IPAddresses().Get(ctx, made.Spec.ClusterIP, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the IPAddress of cluster IP %s: %v", made.Spec.ClusterIP, err)
		}
		want := networkingv1.ParentReference{Resource: "services", Namespace: "default", Name: made.Name}
		if *ip.Spec.ParentRef != want || ip.Labels["ipaddress.kubernetes.io/managed-by"] != "ipallocator.k8s.io" || ip.Labels["ipaddress.kubernetes.io/ip-family"] != "IPv4" {
			t.Errorf("IPAddress %s: parent %+v labels %v, want %+v and the allocator's labels", ip.Name, ip.Spec.ParentRef, ip.Labels, want)
		}
		if err := svcs.Delete(ctx, made.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.NetworkingV1().IPAddresses().Get(ctx, made.Spec.ClusterIP, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the IPAddress after its Service was deleted: got %v, want NotFound", err)
		}

		// An address outside every range is refused until a ServiceCIDR
		// holds it.
		const name = "extra-range"
		svc = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "in-extra"},
			Spec: corev1.ServiceSpec{ClusterIP: "203.0.113.10", Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := svcs.Create(ctx, svc, metav1.CreateOptions{}); !hasCause(err, "spec.clusterIP") {
			t.Errorf("a cluster IP outside the ranges: got %v, want Invalid on spec.clusterIP", err)
		}
		extra, err := cidrs.Create(ctx, &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"203.0.113.0/24"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cidrs.Delete(context.Background(), name, metav1.DeleteOptions{}) }()
		framework.Eventually(t, 30*time.Second, "a Service takes an address of the new range", func() error {
			_, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
			return err
		})
		defer func() { _ = svcs.Delete(context.Background(), svc.Name, metav1.DeleteOptions{}) }()

		extra.Spec.CIDRs = []string{"203.0.114.0/24"}
		if _, err := cidrs.Update(ctx, extra, metav1.UpdateOptions{}); !hasCause(err, "spec.cidrs[0]") {
			t.Errorf("change the cidrs: got %v, want Invalid on spec.cidrs[0] (immutable)", err)
		}
		for field, bad := range map[string][]string{
			"spec.cidrs":    {"10.0.0.0/24", "10.1.0.0/24"},
			"spec.cidrs[0]": {"10.0.0.1/24"},
		} {
			sc := &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: bad}}
			if _, err := cidrs.Create(ctx, sc, metav1.CreateOptions{}); !hasCause(err, field) {
				t.Errorf("cidrs %v: got %v, want Invalid on %s", bad, err, field)
			}
		}
	})
}

func findCondition(cs []metav1.Condition, typ string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}
