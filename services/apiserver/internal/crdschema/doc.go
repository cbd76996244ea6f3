// Package crdschema gives a CustomResourceDefinition version's OpenAPI v3
// schema its Kubernetes meaning, as apiextensions-apiserver does:
//
//   - Check says what makes a schema unacceptable for apiextensions.k8s.io/v1
//     (not structural, forbidden fields, misused x-kubernetes-* extensions,
//     defaults that do not validate or are not pruned, CEL rules that do not
//     compile), with Kubernetes' field paths and messages.
//   - New turns an acceptable schema into a Structural, which prunes unknown
//     fields, applies defaults and validates objects (OpenAPI value
//     validation through kube-openapi, list-type set/map uniqueness, embedded
//     resources, and x-kubernetes-validations CEL rules).
//
// Objects are unstructured JSON as k8s.io/apimachinery/pkg/util/json decodes
// it: map[string]any, []any, string, int64, float64, bool and nil. A
// Structural is immutable after New and safe for concurrent use.
//
// What differs from Kubernetes: validation ratcheting (errors on unchanged
// fields of an update are still errors), CEL cost estimation and runtime cost
// limits, Kubernetes' own CEL libraries (quantity, URL, IP, CIDR, semver,
// format, lists) and the order-insensitive equality of set and map lists in
// CEL are not implemented; Kubernetes' cel-go string, set, optional and
// two-variable comprehension extensions are.
package crdschema
