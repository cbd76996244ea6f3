package client

import (
	"testing"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// TestForFindsCustomResourceDefinitionService: the apiextensions contract
// has the service and messages For looks up by name (For panics when a
// kind lacks them).
func TestForFindsCustomResourceDefinitionService(t *testing.T) {
	r := forConn[*apiextensionsv1.CustomResourceDefinition, *apiextensionsv1.CustomResourceDefinitionList](nil, "")
	if r == nil {
		t.Fatal("got nil, want a client")
	}
}
