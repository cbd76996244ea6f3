package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	notExec := filepath.Join(dir, "plugin")
	for path, data := range map[string]string{good: "zone: a\nloadBalancerPool: [10.0.0.0/28]\n", bad: "loadBalancerPool: [nope]\n", notExec: ""} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults with a kubeconfig", args: []string{"--kubeconfig", "k"}},
		{name: "local config", args: []string{"--kubeconfig", "k", "--cloud-config", good}},
		{name: "no kubeconfig", wantErr: "--kubeconfig is required"},
		{name: "bad local config", args: []string{"--kubeconfig", "k", "--cloud-config", bad}, wantErr: `loadBalancerPool[0] "nope"`},
		{name: "missing config", args: []string{"--kubeconfig", "k", "--cloud-config", filepath.Join(dir, "none")}, wantErr: "--cloud-config"},
		{name: "missing plugin", args: []string{"--kubeconfig", "k", "--cloud-provider", "aws"}, wantErr: "neither 'local' nor a provider plugin"},
		{name: "plugin not executable", args: []string{"--kubeconfig", "k", "--cloud-provider", notExec}, wantErr: "not an executable file"},
		{name: "plugin", args: []string{"--kubeconfig", "k", "--cloud-provider", "/bin/true"}},
		{name: "unknown controller", args: []string{"--kubeconfig", "k", "--controllers", "*,-route,dns"}, wantErr: `unknown controller "dns"`},
		{name: "bad cluster cidr", args: []string{"--kubeconfig", "k", "--cluster-cidr", "10.0.0.0"}, wantErr: "--cluster-cidr"},
		{name: "short lease", args: []string{"--kubeconfig", "k", "--leader-elect-lease-duration", "1s"}, wantErr: "at least 2s"},
		{name: "zero period", args: []string{"--kubeconfig", "k", "--node-monitor-period", "0s"}, wantErr: "--node-monitor-period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	tests := []struct {
		controllers []string
		want        map[string]bool
	}{
		{[]string{"*"}, map[string]bool{"node": true, "service": true, "route": true}},
		{[]string{"*", "-route"}, map[string]bool{"node": true, "service": true, "route": false}},
		{[]string{"service"}, map[string]bool{"node": false, "service": true, "route": false}},
	}
	for _, tt := range tests {
		o := &Options{Controllers: tt.controllers}
		for name, want := range tt.want {
			if got := o.Enabled(name); got != want {
				t.Errorf("%v: Enabled(%s) got %v, want %v", tt.controllers, name, got, want)
			}
		}
	}
}
