package kubectl

import (
	"context"
	"fmt"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

const policyManifest = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: %s
  labels: {e2e: kinds}
spec:
  podSelector:
    matchLabels: {app: db}
  ingress:
  - from:
    - podSelector:
        matchLabels: {role: client}
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}
    ports:
    - port: postgres
  egress:
  - to:
    - namespaceSelector: {}
    ports:
    - {protocol: UDP, port: 53}
`

// TestNetworkPolicies: kubectl on networking.k8s.io/v1 NetworkPolicies
// (short name netpol): the everyday commands, Kubernetes' columns and
// defaults, generation counting spec changes only, server-side apply and
// strategic merge patches over their atomic lists.
func TestNetworkPolicies(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "networkpolicies", namespace: "default",
		manifest: func(name string) string { return fmt.Sprintf(policyManifest, name) },
		columns:  []string{"NAME", "POD-SELECTOR", "AGE"},
		cells:    []string{"first", "app=db", "*"},
	})

	k.runIn(fmt.Sprintf(policyManifest, "db"), "apply", "--server-side", "-f", "-")
	np := k.jsonOf("get", "netpol", "db")
	if got := path(np, "spec", "ingress", 0, "ports", 0, "protocol"); got != "TCP" {
		t.Errorf("default protocol: got %v, want TCP", got)
	}
	if got := fmt.Sprint(path(np, "spec", "policyTypes")); got != "[Ingress Egress]" {
		t.Errorf("default policyTypes with egress rules: got %s, want [Ingress Egress]", got)
	}
	if got := path(np, "metadata", "generation"); got != 1.0 {
		t.Errorf("generation on create: got %v, want 1", got)
	}
	mustContain(t, "kubectl describe netpol", k.run("describe", "netpol", "db"), "PodSelector:     app=db",
		"Allowing ingress traffic:", "To Port: postgres/TCP", "IPBlock:", "CIDR: 10.0.0.0/16", "Except: 10.0.1.0/24",
		"Policy Types: Ingress, Egress")
	k.run("label", "netpol", "db", "tier=data")
	if got := path(k.jsonOf("get", "netpol", "db"), "metadata", "generation"); got != 1.0 {
		t.Errorf("generation after a label change: got %v, want 1", got)
	}

	// A strategic merge patch replaces an atomic list whole.
	k.run("patch", "netpol", "db", "-p", `{"spec":{"ingress":[{"ports":[{"port":5432}]}]}}`)
	np = k.jsonOf("get", "netpol", "db")
	if got := path(np, "spec", "ingress", 0, "from"); got != nil {
		t.Errorf("strategic merge patch of spec.ingress: got from %v, want the list replaced", got)
	}
	if got := path(np, "spec", "ingress", 0, "ports", 0, "port"); got != 5432.0 {
		t.Errorf("strategic merge patch of spec.ingress: got port %v, want 5432", got)
	}
	if got := path(np, "metadata", "generation"); got != 2.0 {
		t.Errorf("generation after a spec change: got %v, want 2", got)
	}

	// Server-side apply by a second manager takes the field it sets.
	k.runIn("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Egress]\n",
		"apply", "--server-side", "--force-conflicts", "--field-manager=second", "-f", "-")
	if got := fmt.Sprint(path(k.jsonOf("get", "netpol", "db"), "spec", "policyTypes")); got != "[Egress]" {
		t.Errorf("server-side apply of policyTypes: got %s, want [Egress]", got)
	}
	k.run("delete", "netpol", "db")

	// The pod selector may be left out since Kubernetes 1.34: every pod
	// of the namespace, written back as {}.
	k.runIn("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all}\nspec: {policyTypes: [Ingress, Egress]}\n", "apply", "-f", "-")
	if got, ok := path(k.jsonOf("get", "netpol", "deny-all"), "spec").(map[string]any)["podSelector"]; !ok || fmt.Sprint(got) != "map[]" {
		t.Errorf("podSelector left out: got %v (present %v), want {}", got, ok)
	}
	mustContain(t, "kubectl get netpol deny-all", k.run("get", "netpol", "deny-all"), "<none>")
}

// TestNetworkPolicyBadInput: the bad policy (an invalid CIDR, an
// except outside its cidr, a port name over 15 characters) is refused with
// 422 Invalid naming each field, and nothing is stored.
func TestNetworkPolicyBadInput(t *testing.T) {
	k, srv := newKube(t)
	cs := kubernetes.NewForConfigOrDie(srv.RESTConfig())
	bad := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/33"}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"192.168.1.0/24"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromString("a-very-long-port-name"))}},
		}},
	}}
	ctx := context.Background()
	_, err := cs.NetworkingV1().NetworkPolicies("default").Create(ctx, bad, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("create: got %v, want 422 Invalid", err)
	}
	st := err.(apierrors.APIStatus).Status()
	if st.Code != 422 || st.Reason != metav1.StatusReasonInvalid {
		t.Errorf("status: got %d %s, want 422 Invalid", st.Code, st.Reason)
	}
	want := []string{
		`FieldValueInvalid spec.ingress[0].ports[0].port: Invalid value: "a-very-long-port-name": must be no more than 15 characters`,
		`FieldValueInvalid spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`,
		"FieldValueInvalid spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"192.168.1.0/24\": must be a strict subset of `cidr`",
	}
	var got []string
	for _, c := range st.Details.Causes {
		got = append(got, fmt.Sprintf("%s %s: %s", c.Type, c.Field, c.Message))
	}
	if !slices.Equal(got, want) {
		t.Errorf("causes:\n got %q\nwant %q", got, want)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("default").Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after the refused create: got %v, want NotFound", err)
	}

	// kubectl shows the same causes.
	manifest := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: not-a-cidr}\n"
	out, err := k.try(manifest, "apply", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl apply of a bad policy: succeeded, want refused\n%s", out)
	}
	mustContain(t, "kubectl apply of a bad policy", out, `The NetworkPolicy "bad" is invalid`,
		`spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "not-a-cidr": must be a valid CIDR value`)
}

func ptr[T any](v T) *T { return &v }
