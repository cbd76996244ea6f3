package app

import (
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/spec"
)

// newOpenAPI publishes the OpenAPI v3 documents of the served resources.
func newOpenAPI(s *catalog.Snapshot) *spec.Handler {
	resources := make([]spec.Resource, len(s.Entries))
	for i, e := range s.Entries {
		resources[i] = e.SpecResource()
	}
	return spec.NewHandler(resources)
}
