package api

import (
	"google.golang.org/protobuf/proto"

	"skiff.dev/services/apiserver/internal/registry"
)

// watchIndexField is the field the watch caches index watchers by, as
// Kubernetes' cacher indexes pods' watchers by spec.nodeName: each kubelet
// watches its node's pods, and a pod's change then reaches its node's
// kubelet without being matched against every other kubelet's watch.
const watchIndexField = "spec.nodeName"

// watchIndexFunc reads the index field of a kind's objects, or is nil when
// the kind has no such field.
func watchIndexFunc(res *registry.Resource) func(proto.Message) string {
	fields := res.Strategy.FieldSet
	if fields == nil {
		return nil
	}
	if _, ok := fields(res.New())[watchIndexField]; !ok {
		return nil
	}
	return func(obj proto.Message) string { return fields(obj)[watchIndexField] }
}
