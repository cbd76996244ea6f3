package storage

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/labels"
	"skiff.dev/pkg/nodematch"
	"skiff.dev/pkg/volumeclass"
)

// Well-known names.
const (
	AnnSelectedNode      = "volume.kubernetes.io/selected-node"
	AnnBindCompleted     = "pv.kubernetes.io/bind-completed"
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	ModeWaitForConsumer  = "WaitForFirstConsumer"
	noProvisioner        = "kubernetes.io/no-provisioner"
	readWriteOncePod     = "ReadWriteOncePod"
)

// claimNames are the names of the claims a pod's volumes use.
func claimNames(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.GetSpec().GetVolumes() {
		if c := v.GetVolumeSource().GetPersistentVolumeClaim(); c != nil {
			out = append(out, c.GetClaimName())
		}
	}
	return out
}

// podClaims sorts a pod's claims as Kubernetes' binder does.
type podClaims struct {
	bound   []*corev1.PersistentVolumeClaim
	delayed []*corev1.PersistentVolumeClaim // unbound, WaitForFirstConsumer
	// immediate counts unbound claims of Immediate classes.
	immediate int
}

// notFoundError is a lookup that failed for good: the pod is
// unschedulable and unresolvable until the object appears.
type notFoundError struct{ msg string }

func (e notFoundError) Error() string { return e.msg }

// claimsOf looks up and sorts the pod's claims: fully bound, unbound of
// a WaitForFirstConsumer class, or else unbound immediate.
func (s *Store) claimsOf(pod *corev1.Pod, names []string) (*podClaims, error) {
	ns := pod.GetMetadata().GetNamespace()
	out := &podClaims{}
	for _, name := range names {
		c, ok := s.Claim(ns, name)
		switch {
		case !ok:
			return nil, notFoundError{fmt.Sprintf("persistentvolumeclaim %q not found", name)}
		case c.GetStatus().GetPhase() == "Lost":
			return nil, notFoundError{fmt.Sprintf("persistentvolumeclaim %q bound to non-existent persistentvolume %q", name, c.GetSpec().GetVolumeName())}
		case c.GetMetadata().GetDeletionTimestamp() != nil:
			return nil, notFoundError{fmt.Sprintf("persistentvolumeclaim %q is being deleted", name)}
		case fullyBound(c):
			out.bound = append(out.bound, c)
			continue
		}
		// Only an unbound claim of a WaitForFirstConsumer class waits for
		// the scheduler; one that names its volume without
		// bind-completed (pre-bound) is the PV controller's, as an
		// Immediate one.
		if c.GetSpec().GetVolumeName() == "" && s.delayBinding(c) {
			out.delayed = append(out.delayed, c)
		} else {
			out.immediate++
		}
	}
	return out, nil
}

// fullyBound is Kubernetes' isPVCFullyBound: the claim names its volume
// and the PV controller marked the binding complete.
func fullyBound(c *corev1.PersistentVolumeClaim) bool {
	_, done := c.GetMetadata().GetAnnotations()[AnnBindCompleted]
	return c.GetSpec().GetVolumeName() != "" && done
}

// delayBinding: the claim's class binds WaitForFirstConsumer. No class,
// or a class that does not exist, binds at once, as in Kubernetes.
func (s *Store) delayBinding(c *corev1.PersistentVolumeClaim) bool {
	name := volumeclass.Claim(c)
	if name == "" {
		return false
	}
	cl, ok := s.Class(name)
	return ok && cl.BindingMode == ModeWaitForConsumer
}

// requestBytes is what a claim asks for; ok is false when it asks nothing.
func requestBytes(c *corev1.PersistentVolumeClaim) (int64, bool) {
	q, ok := c.GetSpec().GetResources().GetRequests()["storage"]
	if !ok {
		return 0, false
	}
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		return 0, false
	}
	return v.Value(), true
}

// volumeFits reports whether a volume could serve a claim, on node when
// node is not nil: pre-binding, volumeAttributesClassName, mode, access
// modes, size, selector and node affinity, as Kubernetes'
// FindMatchingVolume and the PV controller check them (the class is
// matched by the caller).
func volumeFits(v *Volume, c *corev1.PersistentVolumeClaim, node *corev1.Node) bool {
	m := c.GetMetadata()
	if ref := v.ClaimRef; ref != nil && (ref.Namespace != m.GetNamespace() || ref.Name != m.GetName() || (ref.UID != "" && ref.UID != m.GetUid())) {
		return false
	}
	if v.ClaimRef == nil && v.Phase != "" && v.Phase != "Available" {
		return false
	}
	spec := c.GetSpec()
	if v.VAC != spec.GetVolumeAttributesClassName() {
		return false
	}
	if mode(v.VolumeMode) != mode(spec.GetVolumeMode()) {
		return false
	}
	for _, am := range spec.GetAccessModes() {
		if !slices.Contains(v.AccessModes, am) {
			return false
		}
	}
	if want, ok := requestBytes(c); ok && v.Capacity < want {
		return false
	}
	if sel := spec.GetSelector(); sel != nil && !labels.Matches(sel, v.Labels) {
		return false
	}
	return node == nil || v.NodeAffinity == nil || nodematch.Selector(v.NodeAffinity, node)
}

func mode(m string) string {
	if m == "" {
		return "Filesystem"
	}
	return m
}

// matchVolume finds the smallest volume of the claim's class that fits it
// on node and is not in taken; a volume pre-bound to the claim, or
// assumed for it by another pod's Reserve, wins.
func (s *Store) matchVolume(c *corev1.PersistentVolumeClaim, node *corev1.Node, taken map[string]bool) *Volume {
	key := ClaimKey(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName())
	var best *Volume
	for _, v := range s.availableVolumes(volumeclass.Claim(c), key) {
		if taken[v.Name] || !volumeFits(v, c, node) {
			continue
		}
		if v.ClaimRef != nil || s.assumedFor(v.Name, key) {
			return v
		}
		if best == nil || v.Capacity < best.Capacity || (v.Capacity == best.Capacity && v.Name < best.Name) {
			best = v
		}
	}
	return best
}
