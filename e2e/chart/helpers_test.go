// Package chart tests charts/skiff with the real helm (bin/helm, built
// from its Go module by make helm) and kubectl: lint, the rendered
// objects' shape, a server-side dry run and schema refusals against a
// real Skiff apiserver, and the chart's controlplane-pki program against
// one. Installing the chart onto a cluster that runs its pods is
// e2e/compose's.
package chart

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func chartDir() string { return filepath.Join(repoRoot(), "charts", "skiff") }

var (
	helmOnce sync.Once
	helmErr  error
)

// helmBinary is bin/helm, built by make helm when it is missing; the
// test is skipped only when it cannot be built.
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(repoRoot(), "bin", "helm")
	helmOnce.Do(func() {
		if _, err := os.Stat(bin); err == nil {
			return
		}
		cmd := exec.Command("make", "--no-print-directory", "helm")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("make helm: %v\n%s", err, out)
		}
	})
	if helmErr != nil {
		t.Skip("bin/helm cannot be built here:", helmErr)
	}
	return bin
}

// helm runs bin/helm with its own configuration and cache directories,
// against kubeconfig when it is not empty, and returns its standard
// output and error together.
func helm(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home+"/config", "HELM_CACHE_HOME="+home+"/cache", "HELM_DATA_HOME="+home+"/data")
	if kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// render is helm template's output for the release "hosted" in the
// namespace "hosting", with more helm arguments (-f, --set).
func render(t *testing.T, args ...string) string {
	t.Helper()
	out, err := helm(t, "", append([]string{"template", "hosted", chartDir(), "--namespace", "hosting"}, args...)...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	return out
}

// object is one rendered manifest: its kind and name, and its JSON.
type object struct {
	Kind, Name string
	JSON       []byte
}

// objects splits rendered YAML into its manifests.
func objects(t *testing.T, rendered string) []object {
	t.Helper()
	var out []object
	for _, doc := range strings.Split(rendered, "\n---\n") {
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(js, &head); err != nil {
			t.Fatal(err)
		}
		if head.Kind != "" {
			out = append(out, object{head.Kind, head.Metadata.Name, js})
		}
	}
	return out
}

// decode fills into with every rendered object of kind.
func decode[T any](t *testing.T, objs []object, kind string) map[string]*T {
	t.Helper()
	out := map[string]*T{}
	for _, o := range objs {
		if o.Kind != kind {
			continue
		}
		v := new(T)
		if err := yaml.Unmarshal(o.JSON, v); err != nil {
			t.Fatalf("%s %s: %v", kind, o.Name, err)
		}
		out[o.Name] = v
	}
	return out
}
