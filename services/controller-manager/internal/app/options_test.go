package app

import (
	"strings"
	"testing"

	"skiff.dev/services/controller-manager/internal/nodeipam"
)

func TestEnabledControllers(t *testing.T) {
	for _, c := range []struct {
		flags []string
		name  string
		want  bool
	}{
		{[]string{"*"}, "replicaset", true},
		{[]string{"*", "-replicaset"}, "replicaset", false},
		{[]string{"-replicaset", "*"}, "replicaset", false},
		{[]string{"serviceaccount"}, "replicaset", false},
		{[]string{"serviceaccount"}, "serviceaccount", true},
		{[]string{"*"}, "csrapproving", true},
		{[]string{"*"}, "tokencleaner", true},
		{[]string{"*"}, "csrsigning", false}, // no signing CA
		{[]string{"csrsigning"}, "csrsigning", false},
	} {
		o := NewOptions()
		o.Controllers = c.flags
		if got := o.Enabled(c.name); got != c.want {
			t.Errorf("--controllers=%v, %s: got %v, want %v", c.flags, c.name, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	o := NewOptions()
	o.Kubeconfig = "k"
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.Controllers = []string{"*", "-nope"}
	if err := o.Validate(); err == nil {
		t.Fatal("an unknown controller was accepted")
	}
	o = NewOptions()
	if err := o.Validate(); err == nil {
		t.Fatal("no kubeconfig was accepted")
	}
}

// TestSigning: csrsigning runs when given both of the CA's files.
func TestSigning(t *testing.T) {
	o := NewOptions()
	o.Kubeconfig = "k"
	o.ClusterSigningCertFile = "ca.crt"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("a certificate without its key: %v", err)
	}
	o.ClusterSigningKeyFile = "ca.key"
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if !o.Enabled("csrsigning") {
		t.Error("csrsigning is off with a signing CA")
	}
	o.ClusterSigningDuration = 0
	if err := o.Validate(); err == nil {
		t.Error("a zero --cluster-signing-duration was accepted")
	}
}

func TestValidateNodeCIDRs(t *testing.T) {
	for _, c := range []struct {
		name     string
		allocate bool
		cidr     string
		mask     int
		wantErr  string // a part of the error; "" for none
	}{
		{"off", false, "", 24, ""},
		{"on", true, "10.244.0.0/16", 24, ""},
		{"on with a smaller subnet", true, "10.244.0.0/16", 26, ""},
		{"a cluster CIDR without allocation", false, "10.244.0.0/16", 24, ""},
		{"no cluster CIDR", true, "", 24, "--allocate-node-cidrs needs --cluster-cidr"},
		{"not a CIDR", true, "10.244.0.0", 24, `--cluster-cidr "10.244.0.0": not a CIDR`},
		{"a bad cluster CIDR without allocation", false, "nope", 24, "--cluster-cidr"},
		{"mask not larger than the prefix", true, "10.244.0.0/24", 24, "must be larger than the cluster CIDR's prefix length 24"},
		{"mask smaller than the prefix", true, "10.244.0.0/16", 8, "--node-cidr-mask-size 8"},
		{"too many subnets", true, "10.0.0.0/8", 28, "at most 16 more"},
		{"too small a subnet", true, "10.244.0.0/16", 31, "at most 30"},
		{"IPv6", true, "fd00::/48", 64, "only IPv4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := NewOptions()
			o.Kubeconfig = "k"
			o.AllocateNodeCIDRs, o.ClusterCIDR, o.NodeCIDRMaskSize = c.allocate, c.cidr, c.mask
			err := o.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, c.wantErr)
			}
		})
	}
}

func TestNodeIPAMNeedsAllocateNodeCIDRs(t *testing.T) {
	for _, c := range []struct {
		allocate    bool
		controllers []string
		want        bool
	}{
		{false, []string{"*"}, false},
		{false, []string{"nodeipam"}, false},
		{true, []string{"*"}, true},
		{true, []string{"nodeipam"}, true},
		{true, []string{"*", "-nodeipam"}, false},
	} {
		o := NewOptions()
		o.AllocateNodeCIDRs, o.Controllers = c.allocate, c.controllers
		if got := o.Enabled(nodeipam.Name); got != c.want {
			t.Errorf("--allocate-node-cidrs=%v --controllers=%v: got %v, want %v", c.allocate, c.controllers, got, c.want)
		}
	}
}

func TestValidateMirroringMaxEndpointsPerSubset(t *testing.T) {
	for _, c := range []struct {
		max     int
		wantErr bool
	}{{1, false}, {1000, false}, {0, true}, {1001, true}} {
		o := NewOptions()
		o.Kubeconfig = "k"
		o.MirroringMaxEndpointsPerSubset = c.max
		if err := o.Validate(); (err != nil) != c.wantErr {
			t.Errorf("--mirroring-max-endpoints-per-subset=%d: got %v, want an error: %v", c.max, err, c.wantErr)
		}
	}
}
