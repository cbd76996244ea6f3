package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestComponentsHaveOwnIdentities: in docker-compose.yaml, every component
// names its own kubeconfig; only the kubelet (the node's --kubeconfig)
// still uses the admin credentials, until nodes get their own.
func TestComponentsHaveOwnIdentities(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var stack struct {
		Services map[string]struct {
			Image   string   `json:"image"`
			Command []string `json:"command"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(data, &stack); err != nil {
		t.Fatal(err)
	}
	clients := 0
	for name, svc := range stack.Services {
		for _, arg := range svc.Command {
			flag, value, _ := strings.Cut(arg, "=")
			if !strings.HasSuffix(flag, "kubeconfig") {
				continue
			}
			clients++
			admin := strings.HasSuffix(value, "admin.kubeconfig")
			kubelet := svc.Image == "skiff/node:dev" && flag == "--kubeconfig"
			if admin && !kubelet {
				t.Errorf("%s: %s uses the admin credentials", name, arg)
			}
		}
	}
	if clients < 8 {
		t.Errorf("found %d kubeconfig flags in the stack, want one per component", clients)
	}
}
