package bootstrappolicy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/authorizer/rbac"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Backend is what the reconciler uses of a resource's registry backend.
type Backend interface {
	Create(ctx context.Context, obj proto.Message, opts registry.CreateOptions) (proto.Message, error)
	Get(ctx context.Context, namespace, name string, opts registry.GetOptions) (proto.Message, error)
	Update(ctx context.Context, obj proto.Message, opts registry.UpdateOptions) (proto.Message, error)
	Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (proto.Message, error)
}

// Backends are those of the four rbac.authorization.k8s.io resources.
type Backends struct {
	ClusterRoles, ClusterRoleBindings, Roles, RoleBindings Backend
}

// Summary counts what a reconcile did with the policy's objects.
type Summary struct {
	Created, Updated, Recreated, Unchanged int
	// Protected objects lacked something but were left alone: their
	// autoupdate annotation is "false".
	Protected int
}

// fieldManager owns what the reconciler writes, as kube-apiserver's
// loopback client does in Kubernetes.
const fieldManager = "kube-apiserver"

// Defaults of Reconciler.
const (
	DefaultAttempts = 10
	DefaultBackoff  = 100 * time.Millisecond
	maxBackoff      = 5 * time.Second
)

// Reconciler writes a Policy into the cluster.
type Reconciler struct {
	Backends
	// Attempts bounds the tries of one object (DefaultAttempts when 0).
	// A try that loses a race with another writer (a conflict, a create
	// of a name just taken, an update of an object just deleted) is tried
	// again at once; one that fails otherwise, after a wait that starts
	// at Backoff (DefaultBackoff when 0) and doubles up to 5s. Invalid,
	// bad or forbidden requests are not tried again.
	Attempts int
	Backoff  time.Duration
}

// Reconcile writes p with the default attempts and backoff.
func Reconcile(ctx context.Context, p Policy, b Backends) (Summary, error) {
	r := Reconciler{Backends: b}
	return r.Reconcile(ctx, p)
}

// Reconcile makes the cluster hold p, as Kubernetes' reconciliation of its
// bootstrap policy does:
//
//   - a missing object is created;
//   - an existing object whose rbac.authorization.kubernetes.io/autoupdate
//     annotation is "false" is left as it is;
//   - an existing role gets the labels and annotations it lacks, the rules
//     of p's role its rules do not cover and the aggregation selectors it
//     lacks; rules, selectors, labels and annotations of its own stay. An
//     aggregation rule on a role p does not aggregate is removed, or the
//     aggregation controller would replace the role's rules;
//   - an existing binding that grants another role is deleted and created
//     as p has it (a binding's roleRef cannot change); otherwise it gets
//     the labels, annotations and subjects it lacks and keeps its own.
//
// Every object is tried even when one fails; the error joins the failures.
func (r *Reconciler) Reconcile(ctx context.Context, p Policy) (Summary, error) {
	var s Summary
	var errs []error
	do := func(k kind, b Backend, want proto.Message) {
		if err := r.object(ctx, &s, k, b, want); err != nil {
			m := object.Meta(want)
			errs = append(errs, fmt.Errorf("%s %s: %w", k.name, qualified(m), err))
		}
	}
	for _, o := range p.ClusterRoles {
		do(roleKind("clusterrole"), r.ClusterRoles, o)
	}
	for _, o := range p.ClusterRoleBindings {
		do(bindingKind("clusterrolebinding"), r.ClusterRoleBindings, o)
	}
	for _, o := range p.Roles {
		do(roleKind("role"), r.Roles, o)
	}
	for _, o := range p.RoleBindings {
		do(bindingKind("rolebinding"), r.RoleBindings, o)
	}
	slog.InfoContext(ctx, "bootstrap RBAC policy reconciled", "created", s.Created, "updated", s.Updated,
		"recreated", s.Recreated, "unchanged", s.Unchanged, "protected", s.Protected, "failed", len(errs))
	return s, errors.Join(errs...)
}

// kind is how the objects of one resource are compared.
type kind struct {
	name string
	// diff compares the stored object with the wanted one.
	diff func(cur, want proto.Message) change
}

// change is what a stored object needs: nothing, an update to next, or
// to be deleted and created again (recreate).
type change struct {
	next     proto.Message
	recreate bool
	// missing names what the object lacks, for the log.
	missing []string
	// rules and subjects are the missing ones.
	rules    []*rbacv1.PolicyRule
	subjects []*rbacv1.Subject
}

func (c change) none() bool { return c.next == nil && !c.recreate }

// race marks an error that a try lost to another writer: try again at once.
type race struct{ err error }

func (e race) Error() string { return e.err.Error() }
func (e race) Unwrap() error { return e.err }

// object reconciles one object, trying again as Reconciler describes.
func (r *Reconciler) object(ctx context.Context, s *Summary, k kind, b Backend, want proto.Message) error {
	if b == nil {
		return errors.New("the resource is not served")
	}
	attempts, wait := r.Attempts, r.Backoff
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if wait <= 0 {
		wait = DefaultBackoff
	}
	for try := 1; ; try++ {
		err := r.once(ctx, s, k, b, want)
		if err == nil {
			return nil
		}
		if try >= attempts || permanent(err) || ctx.Err() != nil {
			return err
		}
		if errors.As(err, new(race)) {
			continue
		}
		slog.DebugContext(ctx, "bootstrap RBAC object: trying again", "kind", k.name,
			"name", qualified(object.Meta(want)), "after", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// permanent errors come back the same however often the write is tried.
func permanent(err error) bool {
	switch apierrors.ReasonOf(err) {
	case apierrors.ReasonInvalid, apierrors.ReasonBadRequest, apierrors.ReasonForbidden,
		apierrors.ReasonMethodNotAllowed, apierrors.ReasonRequestEntityTooLarge:
		return true
	}
	return false
}

// once is one try at an object.
func (r *Reconciler) once(ctx context.Context, s *Summary, k kind, b Backend, want proto.Message) error {
	m := object.Meta(want)
	ns, name := m.GetNamespace(), m.GetName()
	log := slog.With("kind", k.name, "name", qualified(m))
	cur, err := b.Get(ctx, ns, name, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		if err := create(ctx, b, want); err != nil {
			return err
		}
		log.DebugContext(ctx, "bootstrap RBAC object created")
		s.Created++
		return nil
	}
	if err != nil {
		return err
	}
	c := k.diff(cur, want)
	switch {
	case c.none():
		s.Unchanged++
		return nil
	case object.Meta(cur).GetAnnotations()[AnnotationAutoUpdate] == "false":
		log.WarnContext(ctx, "bootstrap RBAC object lacks what the policy has but its autoupdate annotation is false; left alone",
			"missing", c.missing, "rules", len(c.rules), "subjects", len(c.subjects), "recreate", c.recreate)
		s.Protected++
		return nil
	case c.recreate:
		uid := object.Meta(cur).GetUid()
		_, err := b.Delete(ctx, ns, name, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: &uid}})
		switch {
		case apierrors.IsConflict(err):
			return race{err} // another object of that name: look again
		case err != nil && !apierrors.IsNotFound(err):
			return err
		}
		if err := create(ctx, b, want); err != nil {
			return err
		}
		log.InfoContext(ctx, "bootstrap RBAC binding granted another role; recreated")
		s.Recreated++
		return nil
	default:
		_, err := b.Update(ctx, c.next, registry.UpdateOptions{FieldManager: fieldManager})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return race{err}
		}
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "bootstrap RBAC object updated with what it lacked",
			"missing", c.missing, "rules", len(c.rules), "subjects", len(c.subjects))
		s.Updated++
		return nil
	}
}

func create(ctx context.Context, b Backend, want proto.Message) error {
	_, err := b.Create(ctx, proto.Clone(want), registry.CreateOptions{FieldManager: fieldManager})
	if apierrors.IsAlreadyExists(err) {
		return race{err}
	}
	return err
}

func qualified(m *metav1.ObjectMeta) string {
	if m.GetNamespace() == "" {
		return m.GetName()
	}
	return m.GetNamespace() + "/" + m.GetName()
}

// diffMeta starts a change with the labels and annotations cur lacks.
func diffMeta(cur, want proto.Message) change {
	next := proto.Clone(cur)
	nm, wm := object.Meta(next), object.Meta(want)
	var c change
	if l, ok := mergeMissing(nm.GetLabels(), wm.GetLabels()); ok {
		nm.Labels = l
		c.missing = append(c.missing, "labels")
	}
	if a, ok := mergeMissing(nm.GetAnnotations(), wm.GetAnnotations()); ok {
		nm.Annotations = a
		c.missing = append(c.missing, "annotations")
	}
	if len(c.missing) > 0 {
		c.next = next
	}
	return c
}

// mergeMissing returns base with the keys of want it lacks (base's values
// win) and whether any was added; base is not changed.
func mergeMissing(base, want map[string]string) (map[string]string, bool) {
	var out map[string]string
	for k, v := range want {
		if _, ok := base[k]; ok {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(base)+1)
			maps.Copy(out, base)
		}
		out[k] = v
	}
	if out == nil {
		return base, false
	}
	return out, true
}

// roleKind compares Roles or ClusterRoles.
func roleKind(name string) kind {
	return kind{name: name, diff: func(cur, want proto.Message) change {
		c := diffMeta(cur, want)
		next := c.next
		if next == nil {
			next = proto.Clone(cur)
		}
		// The broken-down rules not covered, as Kubernetes adds them.
		if _, missing := rbac.Covers(rulesOf(cur), rulesOf(want)); len(missing) > 0 {
			setRules(next, append(rulesOf(next), missing...))
			c.rules = missing
			c.missing = append(c.missing, "rules")
		}
		if cr, ok := next.(*rbacv1.ClusterRole); ok {
			if aggregationChanged(cr, want.(*rbacv1.ClusterRole).GetAggregationRule()) {
				c.missing = append(c.missing, "aggregationRule")
			}
		}
		if len(c.missing) > 0 {
			c.next = next
		}
		return c
	}}
}

// aggregationChanged gives cr the selectors of want it lacks, or takes its
// aggregation rule away when want has none; it reports a change.
func aggregationChanged(cr *rbacv1.ClusterRole, want *rbacv1.AggregationRule) bool {
	if want == nil {
		if cr.AggregationRule == nil {
			return false
		}
		cr.AggregationRule = nil
		return true
	}
	changed := false
	for _, sel := range want.GetClusterRoleSelectors() {
		have := cr.GetAggregationRule().GetClusterRoleSelectors()
		if slices.ContainsFunc(have, func(h *metav1.LabelSelector) bool { return proto.Equal(h, sel) }) {
			continue
		}
		if cr.AggregationRule == nil {
			cr.AggregationRule = &rbacv1.AggregationRule{}
		}
		cr.AggregationRule.ClusterRoleSelectors = append(cr.AggregationRule.ClusterRoleSelectors,
			proto.Clone(sel).(*metav1.LabelSelector))
		changed = true
	}
	return changed
}

func rulesOf(m proto.Message) []*rbacv1.PolicyRule {
	switch r := m.(type) {
	case *rbacv1.ClusterRole:
		return r.GetRules()
	case *rbacv1.Role:
		return r.GetRules()
	}
	panic(fmt.Sprintf("bootstrappolicy: %T is no role", m))
}

func setRules(m proto.Message, rules []*rbacv1.PolicyRule) {
	switch r := m.(type) {
	case *rbacv1.ClusterRole:
		r.Rules = rules
	case *rbacv1.Role:
		r.Rules = rules
	}
}

// bindingKind compares RoleBindings or ClusterRoleBindings.
func bindingKind(name string) kind {
	return kind{name: name, diff: func(cur, want proto.Message) change {
		curRef, curSubjects := bindingOf(cur)
		wantRef, wantSubjects := bindingOf(want)
		if !proto.Equal(curRef, wantRef) {
			return change{recreate: true, missing: []string{"roleRef"}}
		}
		c := diffMeta(cur, want)
		var missing []*rbacv1.Subject
		for _, s := range wantSubjects {
			same := func(o *rbacv1.Subject) bool { return proto.Equal(o, s) }
			if !slices.ContainsFunc(curSubjects, same) && !slices.ContainsFunc(missing, same) {
				missing = append(missing, proto.Clone(s).(*rbacv1.Subject))
			}
		}
		if len(missing) == 0 {
			return c
		}
		if c.next == nil {
			c.next = proto.Clone(cur)
		}
		_, have := bindingOf(c.next)
		setSubjects(c.next, append(have, missing...))
		c.subjects = missing
		c.missing = append(c.missing, "subjects")
		return c
	}}
}

func bindingOf(m proto.Message) (*rbacv1.RoleRef, []*rbacv1.Subject) {
	switch b := m.(type) {
	case *rbacv1.ClusterRoleBinding:
		return b.GetRoleRef(), b.GetSubjects()
	case *rbacv1.RoleBinding:
		return b.GetRoleRef(), b.GetSubjects()
	}
	panic(fmt.Sprintf("bootstrappolicy: %T is no binding", m))
}

func setSubjects(m proto.Message, subjects []*rbacv1.Subject) {
	switch b := m.(type) {
	case *rbacv1.ClusterRoleBinding:
		b.Subjects = subjects
	case *rbacv1.RoleBinding:
		b.Subjects = subjects
	}
}
