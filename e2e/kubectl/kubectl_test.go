// Package kubectl drives the real kubectl on the machine against a real
// apiserver process: the everyday commands Kubernetes users type.
package kubectl

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// kube runs kubectl against one server.
type kube struct {
	t          *testing.T
	kubeconfig string
}

func newKube(t *testing.T) (*kube, *framework.APIServer) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not on this machine")
	}
	srv := framework.StartAPIServer(t)
	// Deleting a namespace needs the namespace controller; creating pods,
	// the serviceaccount controller's default accounts; deleting claims
	// and volumes, the protection controllers that lift their finalizers.
	framework.StartControllerManager(t, srv, "--leader-elect=false",
		"--controllers=namespace,serviceaccount,pvc-protection,pv-protection")
	return &kube{t: t, kubeconfig: srv.Kubeconfig()}, srv
}

func (k *kube) cmd(ctx context.Context, stdin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.kubeconfig, "KUBECTL_EXTERNAL_DIFF=")
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd
}

// run runs kubectl and fails the test if it fails.
func (k *kube) run(args ...string) string {
	k.t.Helper()
	return k.runIn("", args...)
}

// runIn runs kubectl with stdin.
func (k *kube) runIn(stdin string, args ...string) string {
	k.t.Helper()
	out, err := k.try(stdin, args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// try runs kubectl and returns its combined output and error.
func (k *kube) try(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var buf bytes.Buffer
	cmd := k.cmd(ctx, stdin, args...)
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

// jsonOf runs kubectl get -o json and decodes the result.
func (k *kube) jsonOf(args ...string) map[string]any {
	k.t.Helper()
	out := k.run(append(args, "-o", "json")...)
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		k.t.Fatalf("kubectl %v -o json: %v\n%s", args, err, out)
	}
	return v
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: got\n%s\nwant it to contain %q", what, got, w)
		}
	}
}

// path digs into decoded JSON: path(v, "spec", "replicas").
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
