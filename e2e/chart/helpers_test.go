// Package chart tests charts/skiff with the real helm (bin/helm, built
// from its Go module by make helm) and kubectl: lint, the rendered
// objects' shape, a server-side dry run and schema refusals against a
// real Skiff apiserver, and the chart's controlplane-pki program against
// one. Installing the chart onto a cluster that runs its pods is
// e2e/compose's.
package chart

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"skiff.dev/e2e/framework"
)

func chartDir() string { return filepath.Join(framework.RepoRoot(), "charts", "skiff") }

// helm runs bin/helm against kubeconfig when it is not empty.
func helm(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	return framework.Helm(t, kubeconfig, 3*time.Minute, args...)
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
