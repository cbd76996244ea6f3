package api

import (
	"fmt"

	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/fieldmanager"
	"skiff.dev/services/apiserver/internal/spec"
)

// trackFields gives every stored built-in kind its field manager, over a
// type converter made from the kinds' own OpenAPI schemas.
func trackFields(entries []catalog.Entry) error {
	resources := make([]spec.Resource, len(entries))
	for i, e := range entries {
		resources[i] = e.SpecResource()
	}
	tc, err := fieldmanager.NewTypeConverter(spec.Schemas(resources), false)
	if err != nil {
		return fmt.Errorf("the type converter of server-side apply: %w", err)
	}
	for _, e := range entries {
		if r := e.Resource; r.Verbs == nil {
			r.FieldManager = fieldmanager.New(tc, r.GroupVersion(), r.Kind, r.ResetFields())
		}
	}
	return nil
}
