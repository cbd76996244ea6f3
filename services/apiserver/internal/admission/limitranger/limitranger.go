// Package limitranger is Kubernetes' LimitRanger admission plugin: a new
// pod's containers get the default requests and limits of their
// namespace's LimitRanges (the Container items' default and
// defaultRequest) where they set none, and a pod whose containers, or
// whose sum, fall outside an item's min, max or maxLimitRequestRatio is
// refused with 403 Forbidden. As in Kubernetes, only creates are looked
// at: a pod's containers cannot change afterwards.
package limitranger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/quota"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name is the plugin's name.
const Name = "LimitRanger"

// annotation records on a pod what the plugin set.
const annotation = "kubernetes.io/limit-ranger"

// liveTTL is how long a namespace's live lookup stands in for the cache.
const liveTTL = 30 * time.Second

var pods = apierrors.Resource{Resource: "pods"}

// LimitRanger reads LimitRanges from a copy that follows them. A namespace
// the copy knows no LimitRange of is looked up in storage once in a
// while, as Kubernetes does, so a LimitRange created a moment before a
// pod applies to it even when the copy has not seen it yet.
type LimitRanger struct {
	limitRanges registry.Backend
	cache       *follow.Namespaced[*corev1.LimitRange]
	now         func() time.Time

	mu    sync.Mutex
	live  map[string]liveEntry
	group singleflight.Group
}

type liveEntry struct {
	expiry time.Time
	items  []*corev1.LimitRange
}

// New returns the plugin over the LimitRanges' backend.
func New(limitRanges registry.Backend) *LimitRanger {
	return &LimitRanger{limitRanges: limitRanges, cache: follow.NewNamespaced[*corev1.LimitRange](),
		now: time.Now, live: map[string]liveEntry{}}
}

// Plugin is the admission plugin.
func (l *LimitRanger) Plugin() admission.Plugin {
	return admission.Plugin{Name: Name, Mutate: l.mutate, Validate: l.validate,
		Start: func(ctx context.Context) (<-chan struct{}, error) { return l.cache.Start(ctx, l.limitRanges) }}
}

// handles: pod creates.
func handles(w *registry.Write) (*corev1.Pod, bool) {
	pod, ok := w.Object.(*corev1.Pod)
	return pod, ok && w.Operation == registry.OpCreate && w.Subresource == ""
}

func (l *LimitRanger) mutate(ctx context.Context, w *registry.Write) error {
	pod, ok := handles(w)
	if !ok {
		return nil
	}
	items, err := l.limitRangesOf(ctx, w)
	if err != nil {
		return err
	}
	for _, lr := range items {
		SetDefaults(pod, lr)
	}
	return nil
}

func (l *LimitRanger) validate(ctx context.Context, w *registry.Write) error {
	pod, ok := handles(w)
	if !ok {
		return nil
	}
	items, err := l.limitRangesOf(ctx, w)
	if err != nil {
		return err
	}
	for _, lr := range items {
		if err := Check(pod, lr); err != nil {
			return apierrors.NewForbidden(pods, w.Name, err.Error())
		}
	}
	return nil
}

// limitRangesOf returns the LimitRanges of the write's namespace: the
// copy's, or, when it has none, a recent live lookup's.
func (l *LimitRanger) limitRangesOf(ctx context.Context, w *registry.Write) ([]*corev1.LimitRange, error) {
	if items := l.cache.List(w.Namespace); len(items) > 0 {
		return items, nil
	}
	l.mu.Lock()
	e, ok := l.live[w.Namespace]
	l.mu.Unlock()
	if ok && l.now().Before(e.expiry) {
		return e.items, nil
	}
	v, err, _ := l.group.Do(w.Namespace, func() (any, error) {
		list, err := l.limitRanges.List(ctx, w.Namespace, registry.ListOptions{})
		if err != nil {
			return nil, err
		}
		e := liveEntry{expiry: l.now().Add(liveTTL)}
		for _, obj := range object.Items(list) {
			e.items = append(e.items, obj.(*corev1.LimitRange))
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for ns, old := range l.live {
			if !l.now().Before(old.expiry) {
				delete(l.live, ns)
			}
		}
		l.live[w.Namespace] = e
		return e.items, nil
	})
	if err != nil {
		return nil, apierrors.NewForbidden(pods, w.Name, err.Error())
	}
	return v.([]*corev1.LimitRange), nil
}

// SetDefaults gives the pod's containers (init containers too) the
// default requests and limits of the LimitRange's Container items where
// they set none, and records in the kubernetes.io/limit-ranger annotation
// what it set.
func SetDefaults(pod *corev1.Pod, lr *corev1.LimitRange) {
	requests, limits := map[string]*metav1.Quantity{}, map[string]*metav1.Quantity{}
	for _, item := range lr.GetSpec().GetLimits() {
		if item.GetType() != "Container" {
			continue
		}
		for k, q := range item.GetDefaultRequest() {
			requests[k] = q
		}
		for k, q := range item.GetDefault() {
			limits[k] = q
		}
	}
	if pod.Spec == nil {
		return
	}
	var notes []string
	for _, c := range pod.Spec.Containers {
		notes = append(notes, fill(c, "container", requests, limits)...)
	}
	for _, c := range pod.Spec.InitContainers {
		notes = append(notes, fill(c, "init container", requests, limits)...)
	}
	if len(notes) == 0 {
		return
	}
	if pod.Metadata == nil {
		pod.Metadata = &metav1.ObjectMeta{}
	}
	if pod.Metadata.Annotations == nil {
		pod.Metadata.Annotations = map[string]string{}
	}
	pod.Metadata.Annotations[annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
}

// fill sets one container's missing requests and limits and says what it
// set ("cpu, memory request for container web").
func fill(c *corev1.Container, what string, requests, limits map[string]*metav1.Quantity) []string {
	if c.Resources == nil {
		c.Resources = &corev1.ResourceRequirements{}
	}
	set := func(list *map[string]*metav1.Quantity, from map[string]*metav1.Quantity) []string {
		var names []string
		for k, q := range from {
			if _, ok := (*list)[k]; ok {
				continue
			}
			if *list == nil {
				*list = map[string]*metav1.Quantity{}
			}
			(*list)[k] = proto.Clone(q).(*metav1.Quantity)
			names = append(names, k)
		}
		slices.Sort(names)
		return names
	}
	var notes []string
	if names := set(&c.Resources.Requests, requests); len(names) > 0 {
		notes = append(notes, fmt.Sprintf("%s request for %s %s", strings.Join(names, ", "), what, c.GetName()))
	}
	if names := set(&c.Resources.Limits, limits); len(names) > 0 {
		notes = append(notes, fmt.Sprintf("%s limit for %s %s", strings.Join(names, ", "), what, c.GetName()))
	}
	return notes
}

// Check enforces the LimitRange's Container items on each container (init
// containers too) and its Pod items on the pod's sums (without its
// overhead), as Kubernetes words the failures; several are listed in
// brackets.
func Check(pod *corev1.Pod, lr *corev1.LimitRange) error {
	var errs []string
	add := func(err error) {
		if err != nil && !slices.Contains(errs, err.Error()) {
			errs = append(errs, err.Error())
		}
	}
	enforce := func(item *corev1.LimitRangeItem, requests, limits quota.List) {
		typ := item.GetType()
		for _, k := range sorted(item.GetMin()) {
			add(minConstraint(typ, k, quantity(item.GetMin()[k]), requests, limits))
		}
		for _, k := range sorted(item.GetMax()) {
			add(maxConstraint(typ, k, quantity(item.GetMax()[k]), requests, limits))
		}
		for _, k := range sorted(item.GetMaxLimitRequestRatio()) {
			add(ratioConstraint(typ, k, quantity(item.GetMaxLimitRequestRatio()[k]), requests, limits))
		}
	}
	for _, item := range lr.GetSpec().GetLimits() {
		switch item.GetType() {
		case "Container":
			for _, c := range slices.Concat(pod.GetSpec().GetContainers(), pod.GetSpec().GetInitContainers()) {
				enforce(item, quota.FromProto(c.GetResources().GetRequests()), quota.FromProto(c.GetResources().GetLimits()))
			}
		case "Pod":
			enforce(item, quota.ContainerRequests(pod.GetSpec()), quota.ContainerLimits(pod.GetSpec()))
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errors.New(errs[0])
	}
	return errors.New("[" + strings.Join(errs, ", ") + "]")
}

func sorted(m map[string]*metav1.Quantity) []string { return slices.Sorted(maps.Keys(m)) }

func quantity(q *metav1.Quantity) resource.Quantity {
	v, _ := resource.ParseQuantity(q.GetString_())
	return v
}

// values are request, limit and the enforced bound at one precision:
// milli-units when none is too large for them, else units.
func values(request, limit, enforced resource.Quantity) (int64, int64, int64) {
	r, l, e := request.Value(), limit.Value(), enforced.Value()
	if r <= resource.MaxMilliValue && l <= resource.MaxMilliValue && e <= resource.MaxMilliValue {
		return request.MilliValue(), limit.MilliValue(), enforced.MilliValue()
	}
	return r, l, e
}

func minConstraint(typ, name string, bound resource.Quantity, requests, limits quota.List) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, b := values(req, lim, bound)
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, typ, bound.String())
	case r < b:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, typ, bound.String(), req.String())
	case hasLim && l < b:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, typ, bound.String(), lim.String())
	}
	return nil
}

func maxConstraint(typ, name string, bound resource.Quantity, requests, limits quota.List) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, b := values(req, lim, bound)
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, typ, bound.String())
	case l > b:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, typ, bound.String(), lim.String())
	case hasReq && r > b:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, typ, bound.String(), req.String())
	}
	return nil
}

func ratioConstraint(typ, name string, bound resource.Quantity, requests, limits quota.List) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, _ := values(req, lim, bound)
	if !hasReq || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, typ, bound.String())
	}
	if !hasLim || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, typ, bound.String())
	}
	ratio := float64(l) / float64(r)
	observed, allowed := ratio, float64(bound.Value())
	if bound.Value() <= resource.MaxMilliValue {
		observed, allowed = ratio*1000, float64(bound.MilliValue())
	}
	if observed > allowed {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, typ, bound.String(), ratio)
	}
	return nil
}
