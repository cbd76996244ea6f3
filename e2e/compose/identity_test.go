package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestComponentsHaveOwnIdentities: in docker-compose.yaml no component
// runs with the admin credentials: each names its own kubeconfig, and the
// kubelets join with the node bootstrap token.
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
			if strings.HasSuffix(value, "admin.kubeconfig") {
				t.Errorf("%s: %s uses the admin credentials", name, arg)
			}
		}
	}
	if clients < 8 {
		t.Errorf("found %d kubeconfig flags in the stack, want one per component", clients)
	}
}
