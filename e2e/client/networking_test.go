package client

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// TestNetworkingOverGRPC: the networking.k8s.io kinds on the gRPC face:
// a NetworkPolicy is defaulted as over REST, the bad one is
// InvalidArgument with the same field causes, and an Ingress's status is
// written through UpdateStatus without touching its spec.
func TestNetworkingOverGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := dial(t, srv, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	policies := c.NetworkingV1().NetworkPolicies("default")
	np, err := policies.Create(ctx, &networkingv1.NetworkPolicy{Metadata: &metav1.ObjectMeta{Name: "db"},
		Spec: &networkingv1.NetworkPolicySpec{Ingress: []*networkingv1.NetworkPolicyIngressRule{{
			Ports: []*networkingv1.NetworkPolicyPort{{Port: &metav1.IntOrString{IntVal: 5432}}}}}}}, client.WriteOptions{})
	if err != nil {
		t.Fatalf("create a policy: %v", err)
	}
	if got := np.GetSpec().GetIngress()[0].GetPorts()[0].GetProtocol(); got != "TCP" {
		t.Errorf("default protocol: got %q, want TCP", got)
	}
	if got := np.GetSpec().GetPolicyTypes(); !slices.Equal(got, []string{"Ingress"}) {
		t.Errorf("default policyTypes: got %q, want [Ingress]", got)
	}

	_, err = policies.Create(ctx, &networkingv1.NetworkPolicy{Metadata: &metav1.ObjectMeta{Name: "bad"},
		Spec: &networkingv1.NetworkPolicySpec{Egress: []*networkingv1.NetworkPolicyEgressRule{{
			Ports: []*networkingv1.NetworkPolicyPort{{Port: &metav1.IntOrString{Type: 1, StrVal: "far-too-long-a-name"}}},
			To: []*networkingv1.NetworkPolicyPeer{{IpBlock: &networkingv1.IPBlock{Cidr: "10.1.0.0/16", Except: []string{"10.2.0.0/24"}}},
				{IpBlock: &networkingv1.IPBlock{Cidr: "300.0.0.0/8"}}},
		}}}}, client.WriteOptions{})
	if status.Code(err) != codes.InvalidArgument || !client.IsInvalid(err) {
		t.Fatalf("bad policy: got %v (gRPC code %v), want Invalid as InvalidArgument", err, status.Code(err))
	}
	var fields []string
	for _, cause := range err.(*client.StatusError).Status.GetDetails().GetCauses() {
		fields = append(fields, cause.GetReason()+" "+cause.GetField())
	}
	want := []string{"FieldValueInvalid spec.egress[0].ports[0].port", "FieldValueInvalid spec.egress[0].to[0].ipBlock.except[0]",
		"FieldValueInvalid spec.egress[0].to[1].ipBlock.cidr"}
	if !slices.Equal(fields, want) {
		t.Errorf("causes: got %q, want %q", fields, want)
	}
	if _, err := policies.Get(ctx, "bad"); status.Code(err) != codes.NotFound {
		t.Errorf("get the refused policy: got %v, want NotFound", err)
	}

	ingresses := c.NetworkingV1().Ingresses("default")
	ing, err := ingresses.Create(ctx, &networkingv1.Ingress{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &networkingv1.IngressSpec{
		DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web",
			Port: &networkingv1.ServiceBackendPort{Number: 80}}}}}, client.WriteOptions{})
	if err != nil {
		t.Fatalf("create an Ingress: %v", err)
	}
	ing.Spec.IngressClassName = proto.String("ignored")
	ing.Status = &networkingv1.IngressStatus{LoadBalancer: &networkingv1.IngressLoadBalancerStatus{
		Ingress: []*networkingv1.IngressLoadBalancerIngress{{Ip: "192.0.2.1"}}}}
	out, err := ingresses.UpdateStatus(ctx, ing, client.WriteOptions{})
	if err != nil {
		t.Fatalf("update the Ingress's status: %v", err)
	}
	if out.GetSpec().IngressClassName != nil || out.GetStatus().GetLoadBalancer().GetIngress()[0].GetIp() != "192.0.2.1" {
		t.Errorf("after UpdateStatus: got class %v and status %v, want no class and 192.0.2.1", out.GetSpec().IngressClassName, out.GetStatus())
	}
}
