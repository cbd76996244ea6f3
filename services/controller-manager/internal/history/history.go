// Package history keeps the ControllerRevisions of the controllers that
// roll out a pod template (DaemonSets, StatefulSets): the revision's data
// is a patch that restores the template, its name is the owner's name and
// a hash of that data, and the revisions of one owner are numbered in the
// order they were made, so a rollout can be undone by applying an older
// one again.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/rand"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
)

// HashLabel is the label that carries a revision's hash, on the revision
// and on the pods made from it.
const HashLabel = "controller-revision-hash"

// maxPrefix bounds the owner-name part of a revision name, so the name
// with its hash stays a valid object name.
const maxPrefix = 223

// Hash is Kubernetes' hash of a revision's data: FNV-32 of the bytes and,
// after a collision, of the collision count, rendered in the alphabet of
// generated names.
func Hash(data []byte, collisions *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisions != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisions), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// Name is the name of the revision with the given hash of an owner.
func Name(owner, hash string) string {
	if len(owner) > maxPrefix {
		owner = owner[:maxPrefix]
	}
	return owner + "-" + hash
}

// TemplatePatch is the data of a revision of an owner with this pod
// template: a patch that puts the template back whole
// ({"spec":{"template":{...,"$patch":"replace"}}}), as Kubernetes'
// DaemonSet and StatefulSet controllers record it and kubectl rollout undo
// applies it.
func TemplatePatch(tmpl *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := kjson.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	var t map[string]any
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	if t == nil {
		t = map[string]any{}
	}
	t["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": t}})
}

// Template reads the pod template back from a revision's data.
func Template(cr *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var patch struct {
		Spec struct {
			Template map[string]json.RawMessage `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(cr.GetData().GetRaw(), &patch); err != nil {
		return nil, fmt.Errorf("revision %s: %w", cr.GetMetadata().GetName(), err)
	}
	if patch.Spec.Template == nil {
		return nil, fmt.Errorf("revision %s has no template", cr.GetMetadata().GetName())
	}
	delete(patch.Spec.Template, "$patch")
	raw, err := json.Marshal(patch.Spec.Template)
	if err != nil {
		return nil, err
	}
	tmpl := &corev1.PodTemplateSpec{}
	if err := kjson.Unmarshal(raw, tmpl); err != nil {
		return nil, fmt.Errorf("revision %s: %w", cr.GetMetadata().GetName(), err)
	}
	return tmpl, nil
}

// New is a revision of an owner: in its namespace, controlled by it
// (ref), labelled as its template is plus the hash, named by the hash of
// data and collisions.
func New(owner *metav1.ObjectMeta, ref *metav1.OwnerReference, templateLabels map[string]string, data []byte, revision int64, collisions *int32) *appsv1.ControllerRevision {
	labels := make(map[string]string, len(templateLabels)+1)
	for k, v := range templateLabels {
		labels[k] = v
	}
	hash := Hash(data, collisions)
	labels[HashLabel] = hash
	return &appsv1.ControllerRevision{
		Metadata: &metav1.ObjectMeta{
			Name: Name(owner.GetName(), hash), Namespace: owner.GetNamespace(), Labels: labels,
			OwnerReferences: []*metav1.OwnerReference{ref},
		},
		Data:     &metav1.RawExtension{Raw: data},
		Revision: revision,
	}
}

// Equal reports whether two revisions hold the same state: different
// hash labels say no at once, otherwise the data decides.
func Equal(a, b *appsv1.ControllerRevision) bool {
	if a == nil || b == nil {
		return a == b
	}
	ha, oka := a.GetMetadata().GetLabels()[HashLabel]
	hb, okb := b.GetMetadata().GetLabels()[HashLabel]
	if oka && okb && ha != hb {
		return false
	}
	return bytes.Equal(a.GetData().GetRaw(), b.GetData().GetRaw())
}

// FindEqual returns the revisions that hold needle's state.
func FindEqual(revs []*appsv1.ControllerRevision, needle *appsv1.ControllerRevision) []*appsv1.ControllerRevision {
	var out []*appsv1.ControllerRevision
	for _, r := range revs {
		if Equal(r, needle) {
			out = append(out, r)
		}
	}
	return out
}

// Sort orders revisions oldest first: by revision number, then creation
// time, then name.
func Sort(revs []*appsv1.ControllerRevision) {
	slices.SortStableFunc(revs, func(a, b *appsv1.ControllerRevision) int {
		if a.GetRevision() != b.GetRevision() {
			if a.GetRevision() < b.GetRevision() {
				return -1
			}
			return 1
		}
		ta, tb := a.GetMetadata().GetCreationTimestamp().AsTime(), b.GetMetadata().GetCreationTimestamp().AsTime()
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		switch an, bn := a.GetMetadata().GetName(), b.GetMetadata().GetName(); {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	})
}

// Next is the number of a revision made after revs (sorted): one more
// than the newest, or 1.
func Next(revs []*appsv1.ControllerRevision) int64 {
	if len(revs) == 0 {
		return 1
	}
	return revs[len(revs)-1].GetRevision() + 1
}
