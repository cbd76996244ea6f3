package compose

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// componentPorts are the ports the components serve their health on, and
// how: the control plane's secure ports speak HTTPS only (with a
// self-signed certificate, which the probe does not verify); the kubelet's
// and the proxy's health ports plain HTTP, as Kubernetes'.
var componentPorts = map[string]string{
	"6443":  "https", // apiserver
	"10259": "https", // scheduler --secure-port
	"10257": "https", // controller-manager --secure-port
	"10258": "https", // cloud-controller --secure-port
	"10248": "http",  // kubelet --healthz-bind-address
	"10256": "http",  // proxy --healthz-bind-address
}

// TestHealthchecksMatchComponentPorts: every healthcheck of
// docker-compose.yaml that probes a component asks one of the health
// paths, which need no credentials, in the scheme the port speaks.
func TestHealthchecksMatchComponentPorts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var stack struct {
		Services map[string]struct {
			Healthcheck struct {
				Test []string `json:"test"`
			} `json:"healthcheck"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(data, &stack); err != nil {
		t.Fatal(err)
	}
	probed := map[string]bool{}
	for name, svc := range stack.Services {
		for _, arg := range svc.Healthcheck.Test {
			u, err := url.Parse(arg)
			if err != nil || u.Host == "" {
				continue
			}
			scheme, ok := componentPorts[u.Port()]
			if !ok {
				continue
			}
			probed[u.Port()] = true
			if u.Scheme != scheme {
				t.Errorf("%s: %s: port %s speaks %s", name, arg, u.Port(), scheme)
			}
			if !slices.Contains([]string{"/healthz", "/livez", "/readyz"}, u.Path) {
				t.Errorf("%s: %s: not a health path; the others need credentials", name, arg)
			}
		}
	}
	for port := range componentPorts {
		if !probed[port] {
			t.Errorf("no healthcheck probes port %s", port)
		}
	}
}
