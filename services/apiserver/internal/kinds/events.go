package kinds

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	eventsv1 "skiff.dev/api/events/v1"
	"skiff.dev/services/apiserver/internal/convert"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// eventsV1 is events.k8s.io/v1 Event, stored as the core/v1 Events are
// (the same keys and objects), validated in the core shape with that
// group's stricter rules.
func eventsV1(core *registry.Resource) *registry.Resource {
	return &registry.Resource{
		Group: "events.k8s.io", Version: "v1", Plural: "events", Singular: "event", Kind: "Event", ListKind: "EventList",
		ShortNames: []string{"ev"}, Namespaced: true,
		New: newOf[eventsv1.Event](), NewList: newOf[eventsv1.EventList](), Strategy: eventsV1Strategy,
		StoredAs: &registry.StoredAs{
			Resource:   core,
			ToStored:   func(m proto.Message) proto.Message { return convert.EventToCore(m.(*eventsv1.Event)) },
			FromStored: func(m proto.Message) proto.Message { return convert.EventFromCore(m.(*corev1.Event)) },
		},
	}
}

var eventsV1Strategy = registry.Strategy{
	Validate:       asCoreEvent(validate.ValidateEventsV1),
	ValidateCreate: asCoreEvent(validate.ValidateEventsV1Create),
	ValidateUpdate: func(obj, old proto.Message) field.ErrorList {
		return validate.ValidateEventsV1Update(convert.EventToCore(obj.(*eventsv1.Event)), convert.EventToCore(old.(*eventsv1.Event)))
	},
	// Kubernetes' field labels of events.k8s.io/v1.
	FieldSet: fields(func(e *eventsv1.Event) map[string]string {
		o := e.GetRegarding()
		source := e.GetDeprecatedSource().GetComponent()
		if source == "" {
			source = e.GetReportingController()
		}
		return map[string]string{
			"regarding.kind":            o.GetKind(),
			"regarding.namespace":       o.GetNamespace(),
			"regarding.name":            o.GetName(),
			"regarding.uid":             o.GetUid(),
			"regarding.apiVersion":      o.GetApiVersion(),
			"regarding.resourceVersion": o.GetResourceVersion(),
			"regarding.fieldPath":       o.GetFieldPath(),
			"reason":                    e.GetReason(),
			"reportingController":       e.GetReportingController(),
			"source":                    source,
			"type":                      e.GetType(),
		}
	}),
}

func asCoreEvent(f func(*corev1.Event) field.ErrorList) func(proto.Message) field.ErrorList {
	return func(obj proto.Message) field.ErrorList { return f(convert.EventToCore(obj.(*eventsv1.Event))) }
}
