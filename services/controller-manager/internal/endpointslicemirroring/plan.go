package endpointslicemirroring

import (
	"maps"
	"slices"
	"sort"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/telemetry"
)

// Annotations of an Endpoints object that its slices do not carry.
var droppedAnnotations = []string{
	"endpoints.kubernetes.io/last-change-trigger-time",
	"kubectl.kubernetes.io/last-applied-configuration",
}

// changes are the writes that make the mirrored slices match.
type changes struct {
	create, update, remove []*discoveryv1.EndpointSlice
}

func (c changes) empty() bool { return len(c.create)+len(c.update)+len(c.remove) == 0 }

// plan compares the slices an Endpoints object should mirror to (groups)
// with those that mirror it now: each group keeps the first slice of its
// address type and ports, updated when it differs in endpoints, ports,
// labels, annotations or owner, and the others go. A slice that would go
// is reused for a group that needs a new one, so a change of ports
// updates a slice instead of deleting one and creating another. An
// Endpoints object being deleted gets no new slices.
func plan(ep *corev1.Endpoints, groups []*group, existing []*discoveryv1.EndpointSlice) changes {
	byKey := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		k := s.GetAddressType() + " " + portsKey(s.GetPorts())
		byKey[k] = append(byKey[k], s)
	}
	for _, list := range byKey {
		sort.Slice(list, func(i, j int) bool { return list[i].GetMetadata().GetName() < list[j].GetMetadata().GetName() })
	}
	var c changes
	var fresh []*group
	for _, g := range groups {
		have := byKey[g.key]
		delete(byKey, g.key)
		if len(have) == 0 {
			fresh = append(fresh, g)
			continue
		}
		c.remove = append(c.remove, have[1:]...)
		if want := mirror(ep, g, have[0]); !proto.Equal(want, have[0]) {
			c.update = append(c.update, want)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		c.remove = append(c.remove, byKey[k]...)
	}
	for _, g := range fresh {
		i := slices.IndexFunc(c.remove, func(s *discoveryv1.EndpointSlice) bool { return s.GetAddressType() == g.addressType })
		switch {
		case i >= 0:
			c.update = append(c.update, mirror(ep, g, c.remove[i]))
			c.remove = slices.Delete(c.remove, i, i+1)
		case ep.GetMetadata().GetDeletionTimestamp() == nil:
			c.create = append(c.create, mirror(ep, g, nil))
		}
	}
	return c
}

// mirror is the slice of group g for ep: cur updated, or a new slice when
// cur is nil. It carries the Endpoints' labels (with the service name and
// this controller as manager), its annotations but the dropped ones, and
// the Endpoints as its controlling owner.
func mirror(ep *corev1.Endpoints, g *group, cur *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	m := ep.GetMetadata()
	s := &discoveryv1.EndpointSlice{Metadata: &metav1.ObjectMeta{GenerateName: m.GetName() + "-", Namespace: m.GetNamespace()}}
	if cur != nil {
		s = proto.Clone(cur).(*discoveryv1.EndpointSlice)
	}
	labels := maps.Clone(m.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelServiceName] = m.GetName()
	labels[LabelManagedBy] = ManagedBy
	annotations := maps.Clone(m.GetAnnotations())
	for _, a := range droppedAnnotations {
		delete(annotations, a)
	}
	// The apiserver stamps every write with its own trace: the slice keeps
	// the one of its last write, else each write would call for another.
	delete(annotations, telemetry.TraceAnnotation)
	if tp, ok := s.GetMetadata().GetAnnotations()[telemetry.TraceAnnotation]; ok {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[telemetry.TraceAnnotation] = tp
	}
	yes := true
	s.Metadata.Labels, s.Metadata.Annotations = labels, annotations
	s.Metadata.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "v1", Kind: "Endpoints", Name: m.GetName(), Uid: m.GetUid(),
		Controller: &yes, BlockOwnerDeletion: &yes}}
	s.AddressType, s.Ports, s.Endpoints = g.addressType, g.ports, g.endpoints
	return s
}
