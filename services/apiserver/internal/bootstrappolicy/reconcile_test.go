package bootstrappolicy_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/bootstrappolicy"
	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// newAPI is an apiserver's API over a fresh embedded etcd, started.
func newAPI(t *testing.T) (*api.API, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs embedded etcd")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := etcd.Start(ctx, etcd.EmbedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(api.Config{Etcd: e.Client(), WatchCacheSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-a.Done(); _ = e.Close() })
	return a, ctx
}

const rbacGroup = "rbac.authorization.k8s.io"

// backends are the API's RBAC backends, each passed through wrap.
func backends(a *api.API, wrap func(bootstrappolicy.Backend) bootstrappolicy.Backend) bootstrappolicy.Backends {
	return bootstrappolicy.Backends{
		ClusterRoles:        wrap(a.Backend(rbacGroup, "clusterroles")),
		ClusterRoleBindings: wrap(a.Backend(rbacGroup, "clusterrolebindings")),
		Roles:               wrap(a.Backend(rbacGroup, "roles")),
		RoleBindings:        wrap(a.Backend(rbacGroup, "rolebindings")),
	}
}

func plain(b bootstrappolicy.Backend) bootstrappolicy.Backend { return b }

// counting counts the writes through a backend.
type counting struct {
	bootstrappolicy.Backend
	writes *atomic.Int64
}

func (c counting) Create(ctx context.Context, obj proto.Message, opts registry.CreateOptions) (proto.Message, error) {
	c.writes.Add(1)
	return c.Backend.Create(ctx, obj, opts)
}

func (c counting) Update(ctx context.Context, obj proto.Message, opts registry.UpdateOptions) (proto.Message, error) {
	c.writes.Add(1)
	return c.Backend.Update(ctx, obj, opts)
}

func (c counting) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions) (proto.Message, error) {
	c.writes.Add(1)
	return c.Backend.Delete(ctx, ns, name, opts)
}

// reconcileWrites reconciles p and returns the summary and the number of
// writes it made.
func reconcileWrites(t *testing.T, ctx context.Context, a *api.API, p bootstrappolicy.Policy) (bootstrappolicy.Summary, int64) {
	t.Helper()
	var writes atomic.Int64
	s, err := bootstrappolicy.Reconcile(ctx, p, backends(a, func(b bootstrappolicy.Backend) bootstrappolicy.Backend {
		return counting{b, &writes}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return s, writes.Load()
}

// Builders of test objects; the policy's own objects get the default
// label and annotation from policyOf.

func pr(verbs, groups, resources string) *rbacv1.PolicyRule {
	return &rbacv1.PolicyRule{Verbs: strings.Split(verbs, ","), ApiGroups: strings.Split(groups, ","),
		Resources: strings.Split(resources, ",")}
}

func clusterRole(name string, rules ...*rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: name}, Rules: rules}
}

func aggregated(name string, labels ...string) *rbacv1.ClusterRole {
	agg := &rbacv1.AggregationRule{}
	for _, l := range labels {
		agg.ClusterRoleSelectors = append(agg.ClusterRoleSelectors, &metav1.LabelSelector{MatchLabels: map[string]string{l: "true"}})
	}
	return &rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: name}, AggregationRule: agg}
}

func user(name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "User", ApiGroup: rbacGroup, Name: name}
}

func clusterBinding(name, role string, subjects ...*rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{Metadata: &metav1.ObjectMeta{Name: name},
		RoleRef: &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "ClusterRole", Name: role}, Subjects: subjects}
}

func roleBinding(ns, name, role string, subjects ...*rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef: &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "Role", Name: role}, Subjects: subjects}
}

// defaulted gives an object the policy's label and annotation.
func defaulted[T proto.Message](o T) T {
	m := object.Meta(o)
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[bootstrappolicy.LabelBootstrapping] = bootstrappolicy.BootstrappingValue
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[bootstrappolicy.AnnotationAutoUpdate] = "true"
	return o
}

// withMeta sets labels (key, value, ...) and an autoupdate annotation
// ("" for none) on a stored object.
func withMeta[T proto.Message](o T, autoupdate string, labels ...string) T {
	m := object.Meta(o)
	for i := 0; i+1 < len(labels); i += 2 {
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		m.Labels[labels[i]] = labels[i+1]
	}
	if autoupdate != "" {
		m.Annotations = map[string]string{bootstrappolicy.AnnotationAutoUpdate: autoupdate}
	}
	return o
}

func policyOf(objs ...proto.Message) bootstrappolicy.Policy {
	var p bootstrappolicy.Policy
	for _, o := range objs {
		switch o := defaulted(proto.Clone(o)).(type) {
		case *rbacv1.ClusterRole:
			p.ClusterRoles = append(p.ClusterRoles, o)
		case *rbacv1.ClusterRoleBinding:
			p.ClusterRoleBindings = append(p.ClusterRoleBindings, o)
		case *rbacv1.Role:
			p.Roles = append(p.Roles, o)
		case *rbacv1.RoleBinding:
			p.RoleBindings = append(p.RoleBindings, o)
		}
	}
	return p
}

// store creates objects as a user would.
func store(t *testing.T, ctx context.Context, a *api.API, objs ...proto.Message) {
	t.Helper()
	for _, o := range objs {
		if _, err := backendOf(a, o).Create(ctx, proto.Clone(o), registry.CreateOptions{}); err != nil {
			t.Fatalf("store %v: %v", o, err)
		}
	}
}

func backendOf(a *api.API, o proto.Message) registry.Backend {
	plural := map[string]string{"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings",
		"Role": "roles", "RoleBinding": "rolebindings"}[string(o.ProtoReflect().Descriptor().Name())]
	return a.Backend(rbacGroup, plural)
}

// get reads the stored version of o.
func get[T proto.Message](t *testing.T, ctx context.Context, a *api.API, o T) T {
	t.Helper()
	m := object.Meta(o)
	got, err := backendOf(a, o).Get(ctx, m.GetNamespace(), m.GetName(), registry.GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", m.GetName(), err)
	}
	return got.(T)
}

// ruleStrings shows rules one to a line, in order.
func ruleStrings(rules []*rbacv1.PolicyRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = fmt.Sprintf("%v %q %v %v %v", r.GetVerbs(), r.GetApiGroups(), r.GetResources(), r.GetResourceNames(), r.GetNonResourceUrls())
	}
	return out
}

func wantRules(t *testing.T, what string, got []*rbacv1.PolicyRule, want ...*rbacv1.PolicyRule) {
	t.Helper()
	if g, w := ruleStrings(got), ruleStrings(want); !slices.Equal(g, w) {
		t.Errorf("%s rules:\n got  %q\n want %q", what, g, w)
	}
}

func wantSubjects(t *testing.T, what string, got []*rbacv1.Subject, want ...*rbacv1.Subject) {
	t.Helper()
	if !slices.EqualFunc(got, want, func(a, b *rbacv1.Subject) bool { return proto.Equal(a, b) }) {
		t.Errorf("%s subjects: got %v, want %v", what, got, want)
	}
}

// TestReconcile: what a reconcile does with each kind of stored state,
// and that a second reconcile of the same policy writes nothing.
func TestReconcile(t *testing.T) {
	a, ctx := newAPI(t)
	get1 := pr("get", "", "pods")
	list1 := pr("list", "", "pods")
	userRule := pr("delete", "apps", "deployments")

	cases := []struct {
		name     string
		stored   []proto.Message
		policy   []proto.Message
		want     bootstrappolicy.Summary
		check    func(t *testing.T)
		noRepeat bool // the state is such that a second run changes things again
	}{{
		name:   "missing role and binding are created",
		policy: []proto.Message{clusterRole("t:created", get1), clusterBinding("t:created", "t:created", user("alice"))},
		want:   bootstrappolicy.Summary{Created: 2},
		check: func(t *testing.T) {
			r := get(t, ctx, a, clusterRole("t:created"))
			wantRules(t, "role", r.GetRules(), get1)
			if r.GetMetadata().GetLabels()[bootstrappolicy.LabelBootstrapping] != bootstrappolicy.BootstrappingValue ||
				r.GetMetadata().GetAnnotations()[bootstrappolicy.AnnotationAutoUpdate] != "true" {
				t.Errorf("created role's metadata: %v", r.GetMetadata())
			}
			wantSubjects(t, "binding", get(t, ctx, a, clusterBinding("t:created", "")).GetSubjects(), user("alice"))
		},
	}, {
		name: "missing namespaced role and binding are created",
		policy: []proto.Message{&rbacv1.Role{Metadata: &metav1.ObjectMeta{Namespace: "kube-system", Name: "t:ns"}, Rules: []*rbacv1.PolicyRule{get1}},
			roleBinding("kube-system", "t:ns", "t:ns", user("alice"))},
		want: bootstrappolicy.Summary{Created: 2},
		check: func(t *testing.T) {
			r := get(t, ctx, a, &rbacv1.Role{Metadata: &metav1.ObjectMeta{Namespace: "kube-system", Name: "t:ns"}})
			wantRules(t, "role", r.GetRules(), get1)
		},
	}, {
		name:   "a rule a user removed comes back",
		stored: []proto.Message{defaulted(clusterRole("t:removed", get1))},
		policy: []proto.Message{clusterRole("t:removed", get1, list1)},
		want:   bootstrappolicy.Summary{Updated: 1},
		check: func(t *testing.T) {
			wantRules(t, "role", get(t, ctx, a, clusterRole("t:removed")).GetRules(), get1, list1)
		},
	}, {
		name:   "only the uncovered part of a rule is added, broken down",
		stored: []proto.Message{defaulted(clusterRole("t:partly", get1))},
		policy: []proto.Message{clusterRole("t:partly", pr("get,list", "", "pods"))},
		want:   bootstrappolicy.Summary{Updated: 1},
		check: func(t *testing.T) {
			wantRules(t, "role", get(t, ctx, a, clusterRole("t:partly")).GetRules(), get1, list1)
		},
	}, {
		name:   "a rule a user added stays, as does a broader one",
		stored: []proto.Message{defaulted(clusterRole("t:added", pr("*", "", "pods"), userRule))},
		policy: []proto.Message{clusterRole("t:added", get1, list1)},
		want:   bootstrappolicy.Summary{Unchanged: 1},
		check: func(t *testing.T) {
			wantRules(t, "role", get(t, ctx, a, clusterRole("t:added")).GetRules(), pr("*", "", "pods"), userRule)
		},
	}, {
		name:   "a role whose autoupdate is false is left alone",
		stored: []proto.Message{withMeta(clusterRole("t:protected", userRule), "false")},
		policy: []proto.Message{clusterRole("t:protected", get1)},
		want:   bootstrappolicy.Summary{Protected: 1},
		check: func(t *testing.T) {
			r := get(t, ctx, a, clusterRole("t:protected"))
			wantRules(t, "role", r.GetRules(), userRule)
			if len(r.GetMetadata().GetLabels()) != 0 {
				t.Errorf("labels added to a protected role: %v", r.GetMetadata().GetLabels())
			}
		},
	}, {
		name:   "missing label and annotation are added; a user's label and value stay",
		stored: []proto.Message{withMeta(clusterRole("t:meta", get1), "", "team", "a", bootstrappolicy.LabelBootstrapping, "mine")},
		policy: []proto.Message{clusterRole("t:meta", get1)},
		want:   bootstrappolicy.Summary{Updated: 1},
		check: func(t *testing.T) {
			m := get(t, ctx, a, clusterRole("t:meta")).GetMetadata()
			if m.GetLabels()["team"] != "a" || m.GetLabels()[bootstrappolicy.LabelBootstrapping] != "mine" ||
				m.GetAnnotations()[bootstrappolicy.AnnotationAutoUpdate] != "true" {
				t.Errorf("metadata: %v %v", m.GetLabels(), m.GetAnnotations())
			}
		},
	}, {
		name:   "a missing aggregation selector is added; a user's stays",
		stored: []proto.Message{defaulted(aggregated("t:agg", "example.com/aggregate-to-t"))},
		policy: []proto.Message{aggregated("t:agg", "rbac.authorization.k8s.io/aggregate-to-t")},
		want:   bootstrappolicy.Summary{Updated: 1},
		check: func(t *testing.T) {
			sels := get(t, ctx, a, clusterRole("t:agg")).GetAggregationRule().GetClusterRoleSelectors()
			if len(sels) != 2 || sels[0].GetMatchLabels()["example.com/aggregate-to-t"] != "true" ||
				sels[1].GetMatchLabels()["rbac.authorization.k8s.io/aggregate-to-t"] != "true" {
				t.Errorf("selectors: %v", sels)
			}
		},
	}, {
		name:   "an aggregated role's rules, written by the aggregation controller, are not the policy's concern",
		stored: []proto.Message{defaulted(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "t:aggrules"}, Rules: []*rbacv1.PolicyRule{userRule}, AggregationRule: aggregated("", "x/y").AggregationRule})},
		policy: []proto.Message{aggregated("t:aggrules", "x/y")},
		want:   bootstrappolicy.Summary{Unchanged: 1},
	}, {
		name:   "an aggregation rule on a role the policy does not aggregate is removed",
		stored: []proto.Message{defaulted(&rbacv1.ClusterRole{Metadata: &metav1.ObjectMeta{Name: "t:notagg"}, Rules: []*rbacv1.PolicyRule{get1}, AggregationRule: aggregated("", "x/y").AggregationRule})},
		policy: []proto.Message{clusterRole("t:notagg", get1)},
		want:   bootstrappolicy.Summary{Updated: 1},
		check: func(t *testing.T) {
			r := get(t, ctx, a, clusterRole("t:notagg"))
			if r.GetAggregationRule() != nil {
				t.Errorf("aggregation rule kept: %v", r.GetAggregationRule())
			}
			wantRules(t, "role", r.GetRules(), get1)
		},
	}, {
		name:   "a binding granting another role is recreated as the policy has it",
		stored: []proto.Message{withMeta(clusterBinding("t:ref", "t:other", user("mallory")), "", "team", "a")},
		policy: []proto.Message{clusterBinding("t:ref", "t:ref", user("alice"))},
		want:   bootstrappolicy.Summary{Recreated: 1},
		check: func(t *testing.T) {
			b := get(t, ctx, a, clusterBinding("t:ref", ""))
			if b.GetRoleRef().GetName() != "t:ref" || b.GetMetadata().GetLabels()["team"] != "" {
				t.Errorf("binding: %v", b)
			}
			wantSubjects(t, "binding", b.GetSubjects(), user("alice"))
		},
	}, {
		name:   "a namespaced binding granting another role is recreated",
		stored: []proto.Message{roleBinding("kube-public", "t:nsref", "t:other", user("mallory"))},
		policy: []proto.Message{roleBinding("kube-public", "t:nsref", "t:nsref", user("alice"))},
		want:   bootstrappolicy.Summary{Recreated: 1},
		check: func(t *testing.T) {
			b := get(t, ctx, a, roleBinding("kube-public", "t:nsref", ""))
			if b.GetRoleRef().GetName() != "t:nsref" {
				t.Errorf("roleRef: %v", b.GetRoleRef())
			}
			wantSubjects(t, "binding", b.GetSubjects(), user("alice"))
		},
	}, {
		name:   "a protected binding granting another role is left alone",
		stored: []proto.Message{withMeta(clusterBinding("t:refprotected", "t:other", user("mallory")), "false")},
		policy: []proto.Message{clusterBinding("t:refprotected", "t:refprotected", user("alice"))},
		want:   bootstrappolicy.Summary{Protected: 1},
		check: func(t *testing.T) {
			if ref := get(t, ctx, a, clusterBinding("t:refprotected", "")).GetRoleRef().GetName(); ref != "t:other" {
				t.Errorf("roleRef %s", ref)
			}
		},
	}, {
		name:   "missing subjects are added; a user's stay",
		stored: []proto.Message{defaulted(clusterBinding("t:subjects", "t:subjects", user("mallory"), user("alice")))},
		policy: []proto.Message{clusterBinding("t:subjects", "t:subjects", user("alice"), user("bob"),
			&rbacv1.Subject{Kind: "ServiceAccount", Namespace: "kube-system", Name: "c"})},
		want: bootstrappolicy.Summary{Updated: 1},
		check: func(t *testing.T) {
			wantSubjects(t, "binding", get(t, ctx, a, clusterBinding("t:subjects", "")).GetSubjects(),
				user("mallory"), user("alice"), user("bob"), &rbacv1.Subject{Kind: "ServiceAccount", Namespace: "kube-system", Name: "c"})
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store(t, ctx, a, c.stored...)
			p := policyOf(c.policy...)
			got, _ := reconcileWrites(t, ctx, a, p)
			if got != c.want {
				t.Errorf("summary %+v, want %+v", got, c.want)
			}
			if c.check != nil {
				c.check(t)
			}
			// Idempotent: nothing left to write.
			again, writes := reconcileWrites(t, ctx, a, p)
			if writes != 0 || again.Created+again.Updated+again.Recreated != 0 {
				t.Errorf("second reconcile wrote %d times: %+v", writes, again)
			}
		})
	}
}

// conflicting makes the first Update of a named object lose a race: just
// before it, another writer changes the object.
type conflicting struct {
	bootstrappolicy.Backend
	name    string
	updates atomic.Int64
}

func (c *conflicting) Update(ctx context.Context, obj proto.Message, opts registry.UpdateOptions) (proto.Message, error) {
	if object.Meta(obj).GetName() == c.name && c.updates.Add(1) == 1 {
		cur, err := c.Backend.Get(ctx, "", c.name, registry.GetOptions{})
		if err != nil {
			return nil, err
		}
		object.Meta(cur).Labels["other-writer"] = "was-here"
		if _, err := c.Backend.Update(ctx, cur, registry.UpdateOptions{}); err != nil {
			return nil, err
		}
	}
	return c.Backend.Update(ctx, obj, opts)
}

// TestConflictIsTriedAgain: an update that conflicts with another
// writer's is made again on the new version, keeping the other's change.
func TestConflictIsTriedAgain(t *testing.T) {
	a, ctx := newAPI(t)
	store(t, ctx, a, defaulted(clusterRole("t:conflict", pr("get", "", "pods"))))
	c := &conflicting{name: "t:conflict"}
	b := backends(a, plain)
	c.Backend, b.ClusterRoles = b.ClusterRoles, c
	s, err := bootstrappolicy.Reconcile(ctx, policyOf(clusterRole("t:conflict", pr("get,list", "", "pods"))), b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Updated != 1 || c.updates.Load() != 2 {
		t.Errorf("summary %+v after %d updates, want one update made on the second try", s, c.updates.Load())
	}
	r := get(t, ctx, a, clusterRole("t:conflict"))
	if r.GetMetadata().GetLabels()["other-writer"] != "was-here" || len(r.GetRules()) != 2 {
		t.Errorf("role after the conflict: %v", r)
	}
}

// failing fails Gets (or Creates) with err while fails is positive; it
// counts the calls.
type failing struct {
	bootstrappolicy.Backend
	onCreate bool
	err      error
	fails    atomic.Int64
	calls    atomic.Int64
}

func (f *failing) Get(ctx context.Context, ns, name string, opts registry.GetOptions) (proto.Message, error) {
	if !f.onCreate {
		f.calls.Add(1)
		if f.fails.Add(-1) >= 0 {
			return nil, f.err
		}
	}
	return f.Backend.Get(ctx, ns, name, opts)
}

func (f *failing) Create(ctx context.Context, obj proto.Message, opts registry.CreateOptions) (proto.Message, error) {
	if f.onCreate {
		f.calls.Add(1)
		if f.fails.Add(-1) >= 0 {
			return nil, f.err
		}
	}
	return f.Backend.Create(ctx, obj, opts)
}

// TestErrorsAreTriedAgainWithinBounds: transient errors are tried again
// after a wait until the attempts run out; a refused write is not tried
// again; every object is tried even when one fails.
func TestErrorsAreTriedAgainWithinBounds(t *testing.T) {
	a, ctx := newAPI(t)
	unavailable := apierrors.NewServiceUnavailable("etcd is busy")
	invalid := apierrors.NewInvalid(apierrors.Resource{Group: rbacGroup, Resource: "clusterroles"}, "x", nil)
	cases := []struct {
		name      string
		onCreate  bool
		err       error
		fails     int64
		wantErr   bool
		wantCalls int64
	}{
		{name: "transient errors pass", err: unavailable, fails: 2, wantCalls: 3},
		{name: "transient errors that last exhaust the attempts", err: unavailable, fails: 100, wantErr: true, wantCalls: 4},
		{name: "an invalid create is not tried again", onCreate: true, err: invalid, fails: 100, wantErr: true, wantCalls: 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("t:errors-%d", i)
			f := &failing{onCreate: c.onCreate, err: c.err}
			f.fails.Store(c.fails)
			b := backends(a, plain)
			f.Backend, b.ClusterRoles = b.ClusterRoles, f
			r := bootstrappolicy.Reconciler{Backends: b, Attempts: 4, Backoff: time.Millisecond}
			p := policyOf(clusterRole(name, pr("get", "", "pods")), clusterBinding(name, name, user("alice")))
			s, err := r.Reconcile(ctx, p)
			if (err != nil) != c.wantErr || f.calls.Load() != c.wantCalls {
				t.Errorf("err %v after %d calls; want error %v after %d", err, f.calls.Load(), c.wantErr, c.wantCalls)
			}
			if c.wantErr && (err == nil || !strings.Contains(err.Error(), "clusterrole "+name)) {
				t.Errorf("error %v does not name the object", err)
			}
			// The binding is made whatever became of the role.
			if s.Created < 1 {
				t.Errorf("summary %+v: the binding was not created", s)
			}
			get(t, ctx, a, clusterBinding(name, ""))
		})
	}

	t.Run("the wait ends with the context", func(t *testing.T) {
		f := &failing{err: unavailable}
		f.fails.Store(100)
		b := backends(a, plain)
		f.Backend, b.ClusterRoles = b.ClusterRoles, f
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		r := bootstrappolicy.Reconciler{Backends: b, Attempts: 100, Backoff: time.Hour}
		if _, err := r.Reconcile(cctx, policyOf(clusterRole("t:ctx", pr("get", "", "pods")))); err == nil {
			t.Fatal("no error")
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("returned after %v", d)
		}
	})
}

// TestConcurrentReconcilers: two apiservers reconciling the same policy
// at once both succeed and leave it whole.
func TestConcurrentReconcilers(t *testing.T) {
	a, ctx := newAPI(t)
	var p bootstrappolicy.Policy
	for i := range 20 {
		name := fmt.Sprintf("t:race-%d", i)
		p.ClusterRoles = append(p.ClusterRoles, defaulted(clusterRole(name, pr("get", "", "pods"), pr("list", "", "pods"))))
		p.ClusterRoleBindings = append(p.ClusterRoleBindings, defaulted(clusterBinding(name, name, user("alice"), user("bob"))))
		// Half stored already, lacking a rule and a subject; the binding
		// of every fourth grants another role.
		if i%2 == 0 {
			ref := name
			if i%4 == 0 {
				ref = "t:elsewhere"
			}
			store(t, ctx, a, defaulted(clusterRole(name, pr("get", "", "pods"))), defaulted(clusterBinding(name, ref, user("alice"))))
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = bootstrappolicy.Reconcile(ctx, policyOf(objectsOf(p)...), backends(a, plain))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		name := fmt.Sprintf("t:race-%d", i)
		wantRules(t, name, get(t, ctx, a, clusterRole(name)).GetRules(), pr("get", "", "pods"), pr("list", "", "pods"))
		b := get(t, ctx, a, clusterBinding(name, ""))
		if b.GetRoleRef().GetName() != name {
			t.Errorf("%s grants %s", name, b.GetRoleRef().GetName())
		}
		wantSubjects(t, name, b.GetSubjects(), user("alice"), user("bob"))
	}
}

func objectsOf(p bootstrappolicy.Policy) []proto.Message {
	var out []proto.Message
	for _, o := range p.ClusterRoles {
		out = append(out, o)
	}
	for _, o := range p.ClusterRoleBindings {
		out = append(out, o)
	}
	return out
}
