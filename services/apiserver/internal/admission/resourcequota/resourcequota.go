// Package resourcequota is Kubernetes' ResourceQuota admission plugin: a
// write that would make its namespace use more than a ResourceQuota's
// enforced limits (status.hard) is refused with 403 Forbidden, and one
// that fits is charged to the quotas by adding its use to their
// status.used, written with compare-and-swap, so that concurrent writes
// cannot together pass a limit. Creates of pods (their compute requests,
// limits and count), Services (their count, node ports and load
// balancers) and every other object (its count/<resource>[.<group>]) are
// charged, and updates that change what a pod or Service uses. What is
// charged for writes that later fail, and what deleted objects give
// back, is put right by the controller-manager's resourcequota
// controller, which recomputes status.used from the objects.
package resourcequota

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/quota"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name is the plugin's name.
const Name = "ResourceQuota"

// retries is how many times a charge that lost a compare-and-swap race is
// evaluated again against the quotas as they are now.
const retries = 3

// fieldManager is who writes the charged status, as kube-apiserver's own
// client names itself.
const fieldManager = "kube-apiserver"

// ignored resources are never charged: Events, and what is not stored.
var ignored = []string{"/events", "events.k8s.io/events", "/bindings", "/componentstatuses"}

// Admission charges writes to quotas. It reads the quotas from a copy
// that follows them, the versions it wrote itself taking precedence over
// older ones the copy still holds; the writes in one namespace are
// charged one at a time, as Kubernetes' quota evaluator works a namespace
// at a time.
type Admission struct {
	quotas registry.Backend
	cache  *follow.Namespaced[*corev1.ResourceQuota]
	now    func() time.Time

	mu      sync.Mutex
	locks   map[string]*nsLock
	written map[string]*corev1.ResourceQuota // namespace/name → the last version written here
}

type nsLock struct {
	sync.Mutex
	users int
}

// New returns the plugin over the ResourceQuotas' backend.
func New(quotas registry.Backend) *Admission {
	return &Admission{quotas: quotas, cache: follow.NewNamespaced[*corev1.ResourceQuota](), now: time.Now,
		locks: map[string]*nsLock{}, written: map[string]*corev1.ResourceQuota{}}
}

// Plugin is the admission plugin.
func (a *Admission) Plugin() admission.Plugin {
	return admission.Plugin{Name: Name, Validate: a.validate,
		Start: func(ctx context.Context) (<-chan struct{}, error) { return a.cache.Start(ctx, a.quotas) }}
}

func (a *Admission) validate(ctx context.Context, w *registry.Write) error {
	if w.Namespace == "" || w.Operation == registry.OpDelete || w.Resource == nil ||
		slices.Contains(ignored, w.Resource.Group+"/"+w.Resource.Plural) {
		return nil
	}
	e := quota.For(w.Resource.Group, w.Resource.Plural)
	if !e.Handles(quota.Operation(w.Operation), w.Subresource, w.Object, w.Old) {
		return nil
	}
	if len(a.cache.List(w.Namespace)) == 0 {
		return nil // most namespaces have no quota: no lock to take
	}
	unlock := a.lock(w.Namespace)
	defer unlock()
	quotas := a.quotasOf(w.Namespace)
	if len(quotas) == 0 {
		return nil
	}
	// The charge is written by the server itself, not as the user whose
	// write is charged (only the trace carries over), and is not cut short
	// by a client that goes away meanwhile.
	wctx, cancel := context.WithTimeout(trace.ContextWithSpan(context.Background(), trace.SpanFromContext(ctx)), 10*time.Second)
	defer cancel()
	return a.charge(wctx, w, e, quotas, retries)
}

// charge checks the write against the quotas and writes the new use of
// those it changes; the ones that lost a race are read again and the
// write checked against them anew.
func (a *Admission) charge(ctx context.Context, w *registry.Write, e quota.Evaluator, quotas []*corev1.ResourceQuota, left int) error {
	next, err := Check(quotas, w, e, a.now())
	if err != nil || w.DryRun {
		return err
	}
	var lost []string
	var lastErr error
	for i, q := range next {
		if quota.Equal(quota.FromProto(quotas[i].GetStatus().GetUsed()), quota.FromProto(q.GetStatus().GetUsed())) {
			continue
		}
		out, err := a.quotas.UpdateStatus(ctx, q, registry.UpdateOptions{FieldManager: fieldManager})
		if err != nil {
			lost = append(lost, q.GetMetadata().GetName())
			lastErr = err
			continue
		}
		a.remember(out.(*corev1.ResourceQuota))
	}
	if len(lost) == 0 {
		return nil
	}
	if left == 0 {
		return lastErr
	}
	var again []*corev1.ResourceQuota
	for _, name := range lost {
		obj, err := a.quotas.Get(ctx, w.Namespace, name, registry.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // deleted meanwhile: nothing to charge
		}
		if err != nil {
			return lastErr
		}
		again = append(again, obj.(*corev1.ResourceQuota))
	}
	if len(again) == 0 {
		return nil
	}
	return a.charge(ctx, w, e, again, left-1)
}

// lock serializes the charges of one namespace.
func (a *Admission) lock(namespace string) func() {
	a.mu.Lock()
	l := a.locks[namespace]
	if l == nil {
		l = &nsLock{}
		a.locks[namespace] = l
	}
	l.users++
	a.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		a.mu.Lock()
		if l.users--; l.users == 0 {
			delete(a.locks, namespace)
		}
		a.mu.Unlock()
	}
}

// quotasOf returns copies of the quotas of a namespace, each the newer of
// the followed copy's and the one last written here.
func (a *Admission) quotasOf(namespace string) []*corev1.ResourceQuota {
	items := a.cache.List(namespace)
	out := make([]*corev1.ResourceQuota, 0, len(items))
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, q := range items {
		key := namespace + "/" + q.GetMetadata().GetName()
		if mine, ok := a.written[key]; ok {
			if newer(mine, q) {
				q = mine
			} else {
				delete(a.written, key)
			}
		}
		out = append(out, proto.Clone(q).(*corev1.ResourceQuota))
	}
	return out
}

// remember keeps a quota written here until the copy catches up with it.
func (a *Admission) remember(q *corev1.ResourceQuota) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.written) >= 1000 {
		clear(a.written) // quotas deleted before the copy caught up
	}
	a.written[q.GetMetadata().GetNamespace()+"/"+q.GetMetadata().GetName()] = q
}

// newer compares resourceVersions, which are etcd revisions.
func newer(a, b *corev1.ResourceQuota) bool {
	ra, errA := strconv.ParseInt(a.GetMetadata().GetResourceVersion(), 10, 64)
	rb, errB := strconv.ParseInt(b.GetMetadata().GetResourceVersion(), 10, 64)
	return errA == nil && errB == nil && ra > rb
}

// Check returns the quotas as they are once the write is charged, or why
// it may not be: a quota that constrains the object and whose use is not
// known yet, an object a quota cannot measure (a container without the
// cpu request a quota limits), or a use beyond a quota's limit. quotas
// are not changed.
func Check(quotas []*corev1.ResourceQuota, w *registry.Write, e quota.Evaluator, now time.Time) ([]*corev1.ResourceQuota, error) {
	forbidden := func(format string, args ...any) error {
		return apierrors.NewForbidden(w.Resource.ErrorResource(), w.Name, fmt.Sprintf(format, args...))
	}
	var matching []int
	for i, q := range quotas {
		ok, err := quota.Matches(e, q, w.Object)
		if err != nil {
			return nil, fmt.Errorf("match quota %s: %w", q.GetMetadata().GetName(), err)
		}
		if !ok {
			continue
		}
		restricted := e.MatchingResources(quota.FromProto(q.GetStatus().GetHard()).Names())
		if err := e.Constraints(restricted, w.Object); err != nil {
			return nil, forbidden("failed quota: %s: %v", q.GetMetadata().GetName(), err)
		}
		if !knownUse(q, restricted) {
			names := slices.Clone(restricted)
			slices.Sort(names)
			return nil, forbidden("status unknown for quota: %s, resources: %s", q.GetMetadata().GetName(), strings.Join(names, ","))
		}
		matching = append(matching, i)
	}
	use, err := e.Usage(w.Object, now)
	if err != nil {
		return nil, err
	}
	if negative := quota.Negative(use); len(negative) > 0 {
		return nil, forbidden("quota usage is negative for resource(s): %s", strings.Join(negative, ","))
	}
	deltas := map[int]quota.List{}
	for _, i := range matching {
		deltas[i] = use
	}
	if w.Operation == registry.OpUpdate && w.Old != nil {
		prev, err := e.Usage(w.Old, now)
		if err != nil {
			return nil, err
		}
		delta := quota.SubtractNonNegative(use, prev)
		for _, i := range matching {
			// An object the quota did not constrain before is charged
			// in full.
			if was, err := quota.Matches(e, quotas[i], w.Old); err != nil {
				return nil, err
			} else if was {
				deltas[i] = delta
			}
		}
	}
	for i, d := range deltas {
		if d = quota.RemoveZeros(d); len(d) == 0 {
			delete(deltas, i)
		} else {
			deltas[i] = d
		}
	}
	if len(deltas) == 0 {
		return quotas, nil
	}
	out := make([]*corev1.ResourceQuota, len(quotas))
	for i, q := range quotas {
		out[i] = proto.Clone(q).(*corev1.ResourceQuota)
	}
	for _, i := range matching {
		d, ok := deltas[i]
		if !ok {
			continue
		}
		q := out[i]
		hard := quota.FromProto(q.GetStatus().GetHard())
		used := quota.FromProto(q.GetStatus().GetUsed())
		requested := quota.Mask(d, hard.Names())
		total := quota.Add(used, requested)
		if w.Subresource != "status" {
			if ok, over := quota.LessThanOrEqual(quota.Mask(total, requested.Names()), hard); !ok {
				return nil, forbidden("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.GetMetadata().GetName(),
					quota.Mask(requested, over), quota.Mask(used, over), quota.Mask(hard, over))
			}
		}
		q.Status.Used = total.Proto()
	}
	return out, nil
}

// knownUse reports whether the quota's status holds the use of each of
// its enforced resources among names (the controller has counted them).
func knownUse(q *corev1.ResourceQuota, names []string) bool {
	for name := range q.GetStatus().GetHard() {
		if _, ok := q.GetStatus().GetUsed()[name]; slices.Contains(names, name) && !ok {
			return false
		}
	}
	return true
}
