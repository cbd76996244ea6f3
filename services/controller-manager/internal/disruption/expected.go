package disruption

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/client"
)

// expectedPodCount is how many pods the budget expects and how many of
// them must be healthy: minAvailable as a number counts the selected pods
// and wants that many; a percentage (of either field) or maxUnavailable
// takes the replicas of the pods' controllers. unmanaged are the selected
// pods without a controller, which such a budget cannot account for.
func (dc *Controller) expectedPodCount(ctx context.Context, pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, unmanaged []string, err error) {
	sp := pdb.GetSpec()
	switch {
	case sp.GetMaxUnavailable() != nil:
		if expected, unmanaged, err = dc.expectedScale(ctx, pods); err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := scaled(sp.GetMaxUnavailable(), expected)
		if err != nil {
			return 0, 0, nil, err
		}
		return expected, max(expected-maxUnavailable, 0), unmanaged, nil
	case sp.GetMinAvailable() != nil && sp.GetMinAvailable().GetType() == 0:
		return int32(len(pods)), sp.GetMinAvailable().GetIntVal(), nil, nil
	case sp.GetMinAvailable() != nil:
		if expected, unmanaged, err = dc.expectedScale(ctx, pods); err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := scaled(sp.GetMinAvailable(), expected)
		if err != nil {
			return 0, 0, nil, err
		}
		return expected, minAvailable, unmanaged, nil
	}
	return 0, 0, nil, nil
}

// scaled is an int-or-percent of total, a percentage rounded up, as
// Kubernetes' GetScaledValueFromIntOrPercent with roundUp.
func scaled(v *metav1.IntOrString, total int32) (int32, error) {
	if v.GetType() == 0 {
		return v.GetIntVal(), nil
	}
	s := v.GetStrVal()
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if !strings.HasSuffix(s, "%") || err != nil {
		return 0, fmt.Errorf("invalid value for IntOrString: invalid value %q", s)
	}
	return int32(math.Ceil(float64(n) * float64(total) / 100)), nil
}

// expectedScale sums the replicas of the controllers of the pods, each
// controller once.
func (dc *Controller) expectedScale(ctx context.Context, pods []*corev1.Pod) (int32, []string, error) {
	scaleOf := map[string]int32{}
	var unmanaged []string
	for _, pod := range pods {
		ref := controllerOf(pod.GetMetadata())
		if ref == nil {
			unmanaged = append(unmanaged, pod.GetMetadata().GetName())
			continue
		}
		if _, seen := scaleOf[ref.GetUid()]; seen {
			continue
		}
		uid, replicas, found, err := dc.controllerScale(ctx, ref, pod.GetMetadata().GetNamespace())
		if err != nil {
			return 0, nil, err
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", pod.GetMetadata().GetName())
		}
		scaleOf[uid] = replicas
	}
	var total int32
	for _, n := range scaleOf {
		total += n
	}
	return total, unmanaged, nil
}

func controllerOf(m *metav1.ObjectMeta) *metav1.OwnerReference {
	for _, ref := range m.GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

func groupOf(apiVersion string) string {
	g, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return g
}

// controllerScale finds the controller a reference names and its
// replicas: a ReplicaSet's Deployment when a Deployment controls it, the
// ReplicaSet otherwise, and any other kind through its scale subresource.
// found is false when the controller does not exist (or is another object
// of that name).
func (dc *Controller) controllerScale(ctx context.Context, ref *metav1.OwnerReference, ns string) (uid string, replicas int32, found bool, err error) {
	if ref.GetKind() == "ReplicaSet" && slices.Contains([]string{"apps", "extensions"}, groupOf(ref.GetApiVersion())) {
		if rs, ok := dc.rss.Store().Get(ns + "/" + ref.GetName()); ok && rs.GetMetadata().GetUid() == ref.GetUid() {
			owner := controllerOf(rs.GetMetadata())
			if owner == nil || owner.GetKind() != "Deployment" {
				return rs.GetMetadata().GetUid(), rs.GetSpec().GetReplicas(), true, nil
			}
			d, ok := dc.deps.Store().Get(ns + "/" + owner.GetName())
			if ok && d.GetMetadata().GetUid() == owner.GetUid() && slices.Contains([]string{"apps", "extensions"}, groupOf(owner.GetApiVersion())) {
				return d.GetMetadata().GetUid(), d.GetSpec().GetReplicas(), true, nil
			}
			return "", 0, false, nil
		}
	}
	scale, err := dc.scales.get(ctx, ref, ns)
	if err != nil || scale == nil || scale.GetMetadata().GetUid() != ref.GetUid() {
		return "", 0, false, err
	}
	return scale.GetMetadata().GetUid(), scale.GetSpec().GetReplicas(), true, nil
}

// scales reads any kind's scale subresource, finding the kind's resource
// among the served ones (looked up again when a kind is not known yet:
// custom resources come and go).
type scales struct {
	c *client.Client

	mu     sync.Mutex
	served []client.ServedResource
}

func newScales(c *client.Client) *scales { return &scales{c: c} }

// get is the scale of the object ref names; nil when the object does not
// exist.
func (s *scales) get(ctx context.Context, ref *metav1.OwnerReference, ns string) (*autoscalingv1.Scale, error) {
	r, err := s.resourceOf(ctx, ref.GetApiVersion(), ref.GetKind())
	if err != nil {
		return nil, err
	}
	if !slices.Contains(r.Subresources, "scale") {
		return nil, fmt.Errorf("%s does not implement the scale subresource", groupResource(r.GroupVersionResource))
	}
	if !r.Namespaced {
		ns = ""
	}
	scale, err := s.c.Dynamic(r.GroupVersionResource, ns).GetScale(ctx, ref.GetName())
	if client.IsNotFound(err) {
		return nil, nil
	}
	return scale, err
}

func groupResource(gvr client.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}

func (s *scales) resourceOf(ctx context.Context, apiVersion, kind string) (client.ServedResource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := find(s.served, apiVersion, kind); ok {
		return r, nil
	}
	served, err := s.c.ServedResources(ctx)
	if err != nil {
		return client.ServedResource{}, fmt.Errorf("list the served resources: %w", err)
	}
	s.served = served
	if r, ok := find(served, apiVersion, kind); ok {
		return r, nil
	}
	return client.ServedResource{}, fmt.Errorf("no matches for kind %q in version %q", kind, apiVersion)
}

func find(served []client.ServedResource, apiVersion, kind string) (client.ServedResource, bool) {
	for _, r := range served {
		if r.Kind == kind && r.APIVersion() == apiVersion {
			return r, true
		}
	}
	return client.ServedResource{}, false
}
