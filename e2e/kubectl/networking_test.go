package kubectl

import (
	"fmt"
	"strings"
	"testing"
)

// TestServiceCIDRs: kubectl on networking.k8s.io/v1 ServiceCIDRs, a
// cluster-scoped kind with status: the everyday commands, Kubernetes'
// columns, the default range, and CIDRs that may not change.
func TestServiceCIDRs(t *testing.T) {
	k, _ := newKube(t)
	ranges := map[string]string{"first": "192.0.2.0/28", "second": "192.0.2.16/28"}
	exerciseKind(t, k, kindCase{
		resource: "servicecidrs",
		manifest: func(name string) string {
			return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata:\n  name: %s\n  labels: {e2e: kinds}\nspec:\n  cidrs: [%s]\n", name, ranges[name])
		},
		columns: []string{"NAME", "CIDRS", "AGE"},
		cells:   []string{"first", "192.0.2.0/28", "*"},
	})
	out := k.run("get", "servicecidr", "kubernetes")
	mustContain(t, "kubectl get servicecidr kubernetes", out, "10.96.0.0/12")

	k.runIn("apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata: {name: fixed}\nspec: {cidrs: [192.0.2.32/28]}\n", "apply", "-f", "-")
	out, err := k.try("", "patch", "servicecidr", "fixed", "--type=merge", "-p", `{"spec":{"cidrs":["192.0.2.48/28"]}}`)
	if err == nil {
		t.Errorf("kubectl patch of the cidrs: succeeded, want it refused\n%s", out)
	}
	mustContain(t, "kubectl patch of the cidrs", out, "spec.cidrs[0]: Invalid value", "field is immutable")
	k.run("delete", "servicecidr", "fixed")
}

// TestIPAddresses: a Service's cluster IP is listed by kubectl get
// ipaddresses (short name ip) with Kubernetes' columns, its parent shown
// as resource/namespace/name.
func TestIPAddresses(t *testing.T) {
	k, _ := newKube(t)
	k.run("create", "service", "clusterip", "addr", "--tcp=80:8080")
	ip := strings.TrimSpace(k.run("get", "service", "addr", "-o", "jsonpath={.spec.clusterIP}"))
	lines := strings.Split(strings.TrimSpace(k.run("get", "ip", ip)), "\n")
	if len(lines) != 2 {
		t.Fatalf("kubectl get ip %s: got %q, want a header and one row", ip, lines)
	}
	if got := fields(lines[0]); strings.Join(got, " ") != "NAME PARENTREF" {
		t.Errorf("columns: got %q, want NAME PARENTREF", got)
	}
	if got := fields(lines[1]); strings.Join(got, " ") != ip+" services/default/addr" {
		t.Errorf("row: got %q, want %s services/default/addr", got, ip)
	}
	k.run("delete", "service", "addr")
	out, err := k.try("", "get", "ipaddress", ip)
	if err == nil || !strings.Contains(out, "NotFound") && !strings.Contains(out, "not found") {
		t.Errorf("kubectl get ipaddress %s after its Service went: got %v\n%s, want not found", ip, err, out)
	}
}
