package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestValidateEncryptionProviderConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(good, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"+
		"resources:\n- resources: [secrets]\n  providers: [{identity: {}}]\n"), 0o600)
	_ = os.WriteFile(bad, []byte("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: []\n"), 0o600)
	o := NewOptions()
	o.EncryptionProviderConfig = good
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.EncryptionProviderConfig = bad
	want := "--encryption-provider-config: encryption provider configuration " + bad + ": resources: at least one resource list is required"
	if err := o.Validate(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestValidateServiceRanges(t *testing.T) {
	for _, tc := range []struct {
		ipRange, portRange, want string
	}{
		{"10.96.0.0/12", "30000-32767", ""},
		{"10.96.0.0/8", "30000-32767", "--service-cluster-ip-range: \"10.96.0.0/8\" is too large"},
		{"10.96.0.0/30", "30000-32767", "--service-cluster-ip-range: \"10.96.0.0/30\" is too small"},
		{"fd00::/112", "30000-32767", "not an IPv4 range"},
		{"10.96.0.0", "30000-32767", "is not a CIDR"},
		{"10.96.0.0/12", "32767-30000", "--service-node-port-range: \"32767-30000\" is not a port range"},
	} {
		o := NewOptions()
		o.ServiceClusterIPRange, o.ServiceNodePortRange = tc.ipRange, tc.portRange
		got := ""
		if err := o.Validate(); err != nil {
			got = err.Error()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: got %q, want %q", tc.ipRange, tc.portRange, got, tc.want)
		}
	}
}

func TestRESTWritesStartTraces(t *testing.T) {
	for name, want := range map[string]bool{
		"POST /apis/apps/v1/namespaces/default/deployments": true,
		"PATCH /api/v1/namespaces/default/services/web":     true,
		"PUT /api/v1/namespaces/default/configmaps/c":       true,
		"DELETE /api/v1/namespaces/default/pods/p":          true,
		"GET /api/v1/pods":                          false,
		"skiff.coordination.v1.LeaseService/Update": false,
		"skiff.core.v1.PodService/Create":           false,
	} {
		if got := restWrite(name); got != want {
			t.Errorf("restWrite(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestServingHosts: the generated serving certificate covers the names and
// the address pods reach the apiserver by (the kubernetes Service).
func TestServingHosts(t *testing.T) {
	for _, tc := range []struct{ ipRange, want string }{
		{"10.96.0.0/12", "10.96.0.1"},
		{"172.20.0.0/16", "172.20.0.1"},
		{"10.96.7.0/12", "10.96.0.1"}, // host bits set: the range's first address
	} {
		o := NewOptions()
		o.ServiceClusterIPRange = tc.ipRange
		hosts := o.hosts()
		for _, want := range []string{tc.want, "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} {
			if !slices.Contains(hosts, want) {
				t.Errorf("range %s: got hosts %v, want %s among them", tc.ipRange, hosts, want)
			}
		}
	}
}
