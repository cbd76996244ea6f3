package fieldmanager

import (
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/merge"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// NewTypeConverter builds the converter from OpenAPI v3 component schemas
// in JSON shape (name -> schema map, refs written
// "#/components/schemas/<name>", every top-level kind's schema carrying
// "x-kubernetes-group-version-kind"), as the server publishes them.
// preserveUnknownFields is for custom resources whose schema keeps
// unknown fields.
func NewTypeConverter(schemas map[string]any, preserveUnknownFields bool) (managedfields.TypeConverter, error) {
	specs := make(map[string]*spec.Schema, len(schemas))
	for name, s := range schemas {
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("encode schema %s: %w", name, err)
		}
		sc := &spec.Schema{}
		if err := json.Unmarshal(raw, sc); err != nil {
			return nil, fmt.Errorf("read schema %s: %w", name, err)
		}
		specs[name] = sc
	}
	tc, err := managedfields.NewTypeConverter(specs, preserveUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("build type converter: %w", err)
	}
	return tc, nil
}

// servedVersion is structured-merge-diff's version converter for a
// resource served in one version: converting to it is the identity, any
// other version is missing, so the entries recorded at it are dropped, as
// Kubernetes drops those of versions it no longer serves.
type servedVersion fieldpath.APIVersion

var _ merge.Converter = servedVersion("")

// errVersionNotServed is the conversion to a version that is not served.
var errVersionNotServed = errors.New("version not served")

func (v servedVersion) Convert(obj *typed.TypedValue, to fieldpath.APIVersion) (*typed.TypedValue, error) {
	if to == fieldpath.APIVersion(v) {
		return obj, nil
	}
	return obj, fmt.Errorf("convert to %s: %w", to, errVersionNotServed)
}

func (servedVersion) IsMissingVersionError(err error) bool {
	return errors.Is(err, errVersionNotServed)
}
