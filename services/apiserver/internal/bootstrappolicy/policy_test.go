package bootstrappolicy_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/bootstrappolicy"
	"skiff.dev/services/apiserver/internal/namespaces"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/validation"
)

// key names an object of the policy: kind, namespace and name.
type key struct{ kind, namespace, name string }

// objects lists the policy's objects with their keys.
func objects(p bootstrappolicy.Policy) map[key]proto.Message {
	out := map[key]proto.Message{}
	add := func(kind string, m proto.Message, meta *metav1.ObjectMeta) {
		out[key{kind, meta.GetNamespace(), meta.GetName()}] = m
	}
	for _, o := range p.ClusterRoles {
		add("ClusterRole", o, o.GetMetadata())
	}
	for _, o := range p.ClusterRoleBindings {
		add("ClusterRoleBinding", o, o.GetMetadata())
	}
	for _, o := range p.Roles {
		add("Role", o, o.GetMetadata())
	}
	for _, o := range p.RoleBindings {
		add("RoleBinding", o, o.GetMetadata())
	}
	return out
}

func count(p bootstrappolicy.Policy) int {
	return len(p.ClusterRoles) + len(p.ClusterRoleBindings) + len(p.Roles) + len(p.RoleBindings)
}

// TestPolicyIsConsistent: names are unique and valid, every object has
// the bootstrapping label and the autoupdate annotation and passes the
// apiserver's own RBAC validation, every rule has verbs and either
// resources or non-resource URLs, and every binding grants a role of the
// policy.
func TestPolicyIsConsistent(t *testing.T) {
	p := bootstrappolicy.Default()
	objs := objects(p)
	if len(objs) != count(p) {
		t.Fatalf("%d objects but %d distinct names: a name is used twice", count(p), len(objs))
	}
	for k, o := range objs {
		meta := object.Meta(o)
		if got := meta.GetLabels()[bootstrappolicy.LabelBootstrapping]; got != bootstrappolicy.BootstrappingValue {
			t.Errorf("%v: label %s=%q", k, bootstrappolicy.LabelBootstrapping, got)
		}
		if got := meta.GetAnnotations()[bootstrappolicy.AnnotationAutoUpdate]; got != "true" {
			t.Errorf("%v: annotation %s=%q", k, bootstrappolicy.AnnotationAutoUpdate, got)
		}
		if msgs := validation.RBACName(k.name); len(msgs) > 0 {
			t.Errorf("%v: name: %v", k, msgs)
		}
		if k.namespace != "" && !slices.Contains(namespaces.System, k.namespace) {
			t.Errorf("%v: not in a namespace the apiserver creates", k)
		}
	}

	for _, r := range p.ClusterRoles {
		name := r.GetMetadata().GetName()
		if errs := validation.ValidateClusterRole(r); len(errs) > 0 {
			t.Errorf("ClusterRole %s: %v", name, errs)
		}
		checkRules(t, "ClusterRole "+name, r.GetRules())
		if r.GetAggregationRule() == nil && len(r.GetRules()) == 0 {
			t.Errorf("ClusterRole %s grants nothing", name)
		}
	}
	for _, r := range p.Roles {
		if errs := validation.ValidateRole(r); len(errs) > 0 {
			t.Errorf("Role %s/%s: %v", r.GetMetadata().GetNamespace(), r.GetMetadata().GetName(), errs)
		}
		checkRules(t, "Role "+r.GetMetadata().GetName(), r.GetRules())
	}
	for _, b := range p.ClusterRoleBindings {
		name := b.GetMetadata().GetName()
		if errs := validation.ValidateClusterRoleBinding(b); len(errs) > 0 {
			t.Errorf("ClusterRoleBinding %s: %v", name, errs)
		}
		if ref := b.GetRoleRef(); objs[key{ref.GetKind(), "", ref.GetName()}] == nil || ref.GetKind() != "ClusterRole" {
			t.Errorf("ClusterRoleBinding %s grants %s %s, which the policy does not have", name, ref.GetKind(), ref.GetName())
		}
		checkSubjects(t, "ClusterRoleBinding "+name, b.GetSubjects())
	}
	for _, b := range p.RoleBindings {
		ns, name := b.GetMetadata().GetNamespace(), b.GetMetadata().GetName()
		if errs := validation.ValidateRoleBinding(b); len(errs) > 0 {
			t.Errorf("RoleBinding %s/%s: %v", ns, name, errs)
		}
		ref := b.GetRoleRef()
		roleNS := ns
		if ref.GetKind() == "ClusterRole" {
			roleNS = ""
		}
		if objs[key{ref.GetKind(), roleNS, ref.GetName()}] == nil {
			t.Errorf("RoleBinding %s/%s grants %s %s, which the policy does not have", ns, name, ref.GetKind(), ref.GetName())
		}
		checkSubjects(t, "RoleBinding "+ns+"/"+name, b.GetSubjects())
	}
}

// checkRules: verbs, and either resources (with API groups) or
// non-resource URLs.
func checkRules(t *testing.T, what string, rules []*rbacv1.PolicyRule) {
	t.Helper()
	for i, r := range rules {
		hasResources, hasURLs := len(r.GetResources()) > 0, len(r.GetNonResourceUrls()) > 0
		switch {
		case len(r.GetVerbs()) == 0:
			t.Errorf("%s rule %d: no verbs", what, i)
		case hasResources == hasURLs:
			t.Errorf("%s rule %d: needs resources or non-resource URLs, not both", what, i)
		case hasResources && len(r.GetApiGroups()) == 0:
			t.Errorf("%s rule %d: resources without API groups", what, i)
		}
		for _, list := range [][]string{r.GetVerbs(), r.GetApiGroups(), r.GetResources(), r.GetResourceNames(), r.GetNonResourceUrls()} {
			if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
				t.Errorf("%s rule %d: %q is not sorted or repeats a value", what, i, list)
			}
		}
	}
}

// checkSubjects: the API groups rbac/v1 defaults are already set, so what
// is stored compares equal to the policy.
func checkSubjects(t *testing.T, what string, subjects []*rbacv1.Subject) {
	t.Helper()
	for _, s := range subjects {
		want := ""
		if s.GetKind() != "ServiceAccount" {
			want = "rbac.authorization.k8s.io"
		}
		if s.GetApiGroup() != want {
			t.Errorf("%s: subject %v: apiGroup %q, want %q", what, s, s.GetApiGroup(), want)
		}
	}
}

// TestControllerRolesAreBoundToTheirServiceAccounts: each
// system:controller: ClusterRole is granted by the binding of its name to
// the kube-system service account its name ends with.
func TestControllerRolesAreBoundToTheirServiceAccounts(t *testing.T) {
	p := bootstrappolicy.Default()
	bindings := map[string]*rbacv1.ClusterRoleBinding{}
	for _, b := range p.ClusterRoleBindings {
		bindings[b.GetMetadata().GetName()] = b
	}
	n := 0
	for _, r := range p.ClusterRoles {
		name, ok := strings.CutPrefix(r.GetMetadata().GetName(), bootstrappolicy.ControllerRolePrefix)
		if !ok {
			continue
		}
		n++
		b := bindings[r.GetMetadata().GetName()]
		want := []*rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: name}}
		if b == nil || b.GetRoleRef().GetName() != r.GetMetadata().GetName() ||
			!slices.EqualFunc(b.GetSubjects(), want, func(a, b *rbacv1.Subject) bool { return proto.Equal(a, b) }) {
			t.Errorf("controller role %s: binding %v, want one to kube-system/%s", r.GetMetadata().GetName(), b, name)
		}
	}
	if n < 30 {
		t.Errorf("%d controller roles; Kubernetes 1.34 has 37", n)
	}
}

// TestSkiffComponentsHaveRoles: the roles the controllers of Skiff's
// controller-manager (by their Kubernetes service accounts), its
// cloud-controller and the control plane's users need are in the policy,
// and the aggregated roles have roles to gather.
func TestSkiffComponentsHaveRoles(t *testing.T) {
	p := bootstrappolicy.Default()
	objs := objects(p)
	for _, sa := range []string{"replicaset-controller", "deployment-controller", "endpoint-controller",
		"endpointslice-controller", "endpointslicemirroring-controller", "generic-garbage-collector",
		"namespace-controller", "pod-garbage-collector", "node-controller", "service-account-controller",
		"service-cidrs-controller", "root-ca-cert-publisher", "clusterrole-aggregation-controller"} {
		if objs[key{"ClusterRole", "", bootstrappolicy.ControllerRolePrefix + sa}] == nil {
			t.Errorf("no role for the controller-manager's %s", sa)
		}
	}
	for _, name := range []string{"cluster-admin", "system:kube-scheduler", "system:kube-controller-manager",
		"system:node-proxier", "system:node", "system:cloud-controller-manager", "system:discovery",
		"system:basic-user", "system:public-info-viewer", bootstrappolicy.NetworkPolicyRole} {
		if objs[key{"ClusterRoleBinding", "", name}] == nil {
			t.Errorf("no ClusterRoleBinding %s", name)
		}
	}
	for _, b := range p.ClusterRoleBindings {
		want := map[string]string{"system:cloud-controller-manager": "system:cloud-controller-manager",
			bootstrappolicy.NetworkPolicyRole: "system:kube-proxy"}[b.GetMetadata().GetName()]
		if want == "" {
			continue
		}
		if s := b.GetSubjects(); len(s) != 1 || s[0].GetKind() != "User" || s[0].GetName() != want {
			t.Errorf("binding %s grants %v, want the user %s", b.GetMetadata().GetName(), s, want)
		}
	}

	for _, agg := range []string{"admin", "edit", "view"} {
		r := objs[key{"ClusterRole", "", agg}].(*rbacv1.ClusterRole)
		label := "rbac.authorization.k8s.io/aggregate-to-" + agg
		sels := r.GetAggregationRule().GetClusterRoleSelectors()
		if len(sels) != 1 || sels[0].GetMatchLabels()[label] != "true" {
			t.Errorf("%s aggregates %v, want the label %s", agg, sels, label)
		}
		withRules := false
		for _, c := range p.ClusterRoles {
			if c.GetMetadata().GetLabels()[label] == "true" && len(c.GetRules()) > 0 {
				withRules = true
			}
		}
		if !withRules {
			t.Errorf("no role with rules carries %s", label)
		}
	}
}

// TestDefaultIsFresh: the policy's objects are built anew at each call,
// so the reconciler (or a caller) changing one leaves the next alone.
func TestDefaultIsFresh(t *testing.T) {
	a := bootstrappolicy.Default()
	for _, r := range a.ClusterRoles {
		r.Metadata.Labels["changed"] = "yes"
		for _, rule := range r.Rules {
			rule.Verbs[0] = "changed"
		}
	}
	for _, r := range bootstrappolicy.Default().ClusterRoles {
		if r.Metadata.Labels["changed"] != "" {
			t.Fatalf("%s: Default shares labels between calls", r.Metadata.Name)
		}
		for _, rule := range r.Rules {
			if slices.Contains(rule.Verbs, "changed") {
				t.Fatalf("%s: Default shares rules between calls", r.Metadata.Name)
			}
		}
	}
}

// TestNetworkingInUserRoles: as Kubernetes' bootstrap policy, view reads
// NetworkPolicies and Ingresses (their status too), edit (and so admin)
// writes them, and neither touches IngressClasses.
func TestNetworkingInUserRoles(t *testing.T) {
	p := bootstrappolicy.Default()
	allows := func(agg, verb, resource string) bool {
		for _, c := range p.ClusterRoles {
			if c.GetMetadata().GetLabels()["rbac.authorization.k8s.io/aggregate-to-"+agg] != "true" {
				continue
			}
			for _, r := range c.GetRules() {
				if slices.Contains(r.GetApiGroups(), "networking.k8s.io") && slices.Contains(r.GetResources(), resource) &&
					slices.Contains(r.GetVerbs(), verb) {
					return true
				}
			}
		}
		return false
	}
	tests := []struct {
		agg, verb, resource string
		want                bool
	}{
		{"view", "list", "networkpolicies", true},
		{"view", "watch", "ingresses", true},
		{"view", "get", "ingresses/status", true},
		{"view", "create", "networkpolicies", false},
		{"edit", "create", "networkpolicies", true},
		{"edit", "update", "ingresses", true},
		{"edit", "deletecollection", "ingresses", true},
		{"edit", "update", "ingresses/status", false},
		{"view", "get", "ingressclasses", false},
		{"edit", "create", "ingressclasses", false},
	}
	for _, tt := range tests {
		if got := allows(tt.agg, tt.verb, tt.resource); got != tt.want {
			t.Errorf("aggregate-to-%s %s %s: got %v, want %v", tt.agg, tt.verb, tt.resource, got, tt.want)
		}
	}
}
