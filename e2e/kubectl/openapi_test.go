package kubectl

import (
	"strings"
	"testing"
)

const widgetYAML = `apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  size: 3
`

// TestUnknownKindAndOpenAPIv2: kubectl validates a kind the server does not
// serve against /openapi/v2, so apply and create of one end with
// Kubernetes' "no matches for kind", and explain reads either document.
func TestUnknownKindAndOpenAPIv2(t *testing.T) {
	k, _ := newKube(t)
	for _, verb := range []string{"apply", "create"} {
		out, err := k.try(widgetYAML, verb, "-f", "-")
		if err == nil {
			t.Fatalf("kubectl %s of an unknown kind succeeded:\n%s", verb, out)
		}
		mustContain(t, "kubectl "+verb, out, `no matches for kind "Widget" in version "example.com/v1"`)
		if strings.Contains(out, "openapi") || strings.Contains(out, "validating") {
			t.Errorf("kubectl %s: got a validation failure, want only the missing kind:\n%s", verb, out)
		}
	}
	for _, format := range []string{"plaintext", "plaintext-openapiv2"} {
		out := k.run("explain", "pods.spec.containers", "--output="+format)
		mustContain(t, "explain --output="+format, out, "FIELDS:", "image", "name")
		out = k.run("explain", "deployment.spec.replicas", "--output="+format)
		mustContain(t, "explain --output="+format, out, "replicas", "integer")
	}
}
