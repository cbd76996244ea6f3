package deployment

import (
	"hash/fnv"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/controller-manager/internal/controller"
)

var errRetry = controller.ErrRetry

// hashAlphabet avoids vowels and look-alike characters, so a hash never
// spells a word, as Kubernetes' pod-template-hash does.
const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// TemplateHash names a pod template: FNV-1a over its deterministic
// encoding and the collision count, written in hashAlphabet.
func TemplateHash(tmpl *corev1.PodTemplateSpec, collisions int32) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(tmpl)
	h := fnv.New32a()
	_, _ = h.Write(b)
	if collisions > 0 {
		_, _ = h.Write([]byte(strconv.Itoa(int(collisions))))
	}
	v := h.Sum32()
	var out []byte
	for v > 0 {
		out = append(out, hashAlphabet[v%uint32(len(hashAlphabet))])
		v /= uint32(len(hashAlphabet))
	}
	if len(out) == 0 {
		out = []byte{hashAlphabet[0]}
	}
	return string(out)
}

// withoutHash is a template without the pod-template-hash label.
func withoutHash(tmpl *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	t := proto.Clone(tmpl).(*corev1.PodTemplateSpec)
	if t == nil {
		return &corev1.PodTemplateSpec{}
	}
	if t.GetMetadata() != nil {
		delete(t.Metadata.Labels, HashLabel)
		if len(t.Metadata.Labels) == 0 {
			t.Metadata.Labels = nil
		}
	}
	return t
}

// sameTemplate reports whether a ReplicaSet runs the Deployment's
// template, compared as Kubernetes compares them (semantically).
func sameTemplate(rs *appsv1.ReplicaSet, d *appsv1.Deployment) bool {
	return proto.Equal(semantic(withoutHash(rs.GetSpec().GetTemplate())), semantic(withoutHash(d.GetSpec().GetTemplate())))
}

// semantic is tmpl with every field that holds its zero value, and every
// message left empty, cleared. Kubernetes' protobuf writes each
// non-pointer field, so a template that came through it (kubectl's typed
// requests) holds "hostIPC": false and a zero creationTimestamp where the
// same template sent as JSON (kubectl rollout undo's patch) holds nothing;
// Kubernetes compares the two as Go structs, where they are equal.
func semantic(tmpl *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	clearZeros(tmpl.ProtoReflect())
	return tmpl
}

// clearZeros clears m's zero-valued and empty fields, depth first; it
// reports whether m is left empty.
func clearZeros(m protoreflect.Message) bool {
	var zero []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			if fd.Message() != nil {
				for i := range v.List().Len() {
					clearZeros(v.List().Get(i).Message())
				}
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					clearZeros(mv.Message())
					return true
				})
			}
		case fd.Message() != nil:
			if clearZeros(v.Message()) {
				zero = append(zero, fd)
			}
		case v.Equal(fd.Default()):
			zero = append(zero, fd)
		}
		return true
	})
	for _, fd := range zero {
		m.Clear(fd)
	}
	empty := true
	m.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool {
		empty = false
		return false
	})
	return empty
}

func ownerReference(d *appsv1.Deployment) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{ApiVersion: "apps/v1", Kind: "Deployment", Name: d.GetMetadata().GetName(),
		Uid: d.GetMetadata().GetUid(), Controller: &yes, BlockOwnerDeletion: &yes}
}

// newReplicaSet is the ReplicaSet for the Deployment's current template,
// at revision rev, with no replicas yet.
func newReplicaSet(d *appsv1.Deployment, rev int64) *appsv1.ReplicaSet {
	hash := TemplateHash(withoutHash(d.GetSpec().GetTemplate()), d.GetStatus().GetCollisionCount())
	tmpl := withoutHash(d.GetSpec().GetTemplate())
	if tmpl.Metadata == nil {
		tmpl.Metadata = &metav1.ObjectMeta{}
	}
	if tmpl.Metadata.Labels == nil {
		tmpl.Metadata.Labels = map[string]string{}
	}
	tmpl.Metadata.Labels[HashLabel] = hash
	sel := proto.Clone(d.GetSpec().GetSelector()).(*metav1.LabelSelector)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[HashLabel] = hash
	labels := map[string]string{}
	for k, v := range tmpl.GetMetadata().GetLabels() {
		labels[k] = v
	}
	ann := annotationsFor(d)
	ann[RevisionAnnotation] = strconv.FormatInt(rev, 10)
	zero := int32(0)
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: d.GetMetadata().GetName() + "-" + hash, Namespace: d.GetMetadata().GetNamespace(),
			Labels: labels, Annotations: ann, OwnerReferences: []*metav1.OwnerReference{ownerReference(d)}},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &zero, Selector: sel, Template: tmpl, MinReadySeconds: d.GetSpec().GetMinReadySeconds()},
	}
}
