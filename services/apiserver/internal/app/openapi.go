package app

import (
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/spec"
)

// newOpenAPI publishes the OpenAPI v3 documents of the served resources.
func newOpenAPI(s *catalog.Snapshot) *spec.Handler {
	var resources []spec.Resource
	for _, e := range s.Entries {
		r := e.Resource
		sr := spec.Resource{Group: r.Group, Version: r.Version, Kind: r.Kind, Plural: r.Plural, Namespaced: r.Namespaced,
			Subresources: r.Subresources, Verbs: r.Verbs, Schema: e.Schema}
		if e.Schema == nil {
			sr.Object = r.New().ProtoReflect().Descriptor()
			if r.NewList != nil {
				sr.List = r.NewList().ProtoReflect().Descriptor()
			}
		}
		resources = append(resources, sr)
	}
	return spec.NewHandler(resources)
}
