package bootstrappolicy

import (
	"slices"

	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
)

// API groups the rules name.
const (
	core               = ""
	admissionGroup     = "admissionregistration.k8s.io"
	appsGroup          = "apps"
	authnGroup         = "authentication.k8s.io"
	authzGroup         = "authorization.k8s.io"
	autoscalingGroup   = "autoscaling"
	batchGroup         = "batch"
	certificatesGroup  = "certificates.k8s.io"
	coordinationGroup  = "coordination.k8s.io"
	discoveryGroup     = "discovery.k8s.io"
	eventsGroup        = "events.k8s.io"
	extensionsGroup    = "extensions"
	networkingGroup    = "networking.k8s.io"
	nodeGroup          = "node.k8s.io"
	policyGroup        = "policy"
	rbacGroup          = "rbac.authorization.k8s.io"
	resourceGroup      = "resource.k8s.io"
	storageGroup       = "storage.k8s.io"
	metricsGroup       = "metrics.k8s.io"
	customMetricsGroup = "custom.metrics.k8s.io"
	extMetricsGroup    = "external.metrics.k8s.io"
)

// Sets of verbs the roles grant together.
var (
	read       = []string{"get", "list", "watch"}
	write      = []string{"create", "update", "patch", "delete", "deletecollection"}
	readWrite  = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	readUpdate = []string{"get", "list", "watch", "update", "patch"}
)

// ruleBuilder builds a PolicyRule: rule("get").groups(core).resources("pods").
type ruleBuilder struct{ r *rbacv1.PolicyRule }

func rule(verbs ...string) ruleBuilder {
	return ruleBuilder{&rbacv1.PolicyRule{Verbs: slices.Clone(verbs)}}
}

func (b ruleBuilder) groups(g ...string) ruleBuilder {
	b.r.ApiGroups = append(b.r.ApiGroups, g...)
	return b
}

func (b ruleBuilder) resources(r ...string) ruleBuilder {
	b.r.Resources = append(b.r.Resources, r...)
	return b
}

func (b ruleBuilder) names(n ...string) ruleBuilder {
	b.r.ResourceNames = append(b.r.ResourceNames, n...)
	return b
}

func (b ruleBuilder) urls(u ...string) ruleBuilder {
	b.r.NonResourceUrls = append(b.r.NonResourceUrls, u...)
	return b
}

// rules finishes the rules, each list sorted as Kubernetes' rule builder
// leaves it, so the stored objects read as Kubernetes' do.
func rules(bs ...ruleBuilder) []*rbacv1.PolicyRule {
	out := make([]*rbacv1.PolicyRule, len(bs))
	for i, b := range bs {
		r := b.r
		for _, list := range [][]string{r.Verbs, r.ApiGroups, r.Resources, r.ResourceNames, r.NonResourceUrls} {
			slices.Sort(list)
		}
		out[i] = r
	}
	return out
}

// eventsRule lets a component record events through either API group.
func eventsRule() ruleBuilder {
	return rule("create", "update", "patch").groups(core, eventsGroup).resources("events")
}

// clusterRole is a ClusterRole of the given rules.
func clusterRole(m *metav1.ObjectMeta, rs ...ruleBuilder) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{Metadata: m, Rules: rules(rs...)}
}

// aggregateLabel is the label by which a ClusterRole's rules join those of
// the aggregated role: "admin", "edit" or "view".
func aggregateLabel(to string) string {
	return "rbac.authorization.k8s.io/aggregate-to-" + to
}

// aggregatedRole is a ClusterRole whose rules are those of the roles
// labelled aggregate-to-<name>, which the clusterrole-aggregation
// controller gathers.
func aggregatedRole(m *metav1.ObjectMeta) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{Metadata: m, AggregationRule: &rbacv1.AggregationRule{
		ClusterRoleSelectors: []*metav1.LabelSelector{{MatchLabels: map[string]string{aggregateLabel(m.GetName()): "true"}}},
	}}
}

// role is a Role of a namespace.
func role(namespace, name string, rs ...ruleBuilder) *rbacv1.Role {
	return &rbacv1.Role{Metadata: nsMeta(namespace, name), Rules: rules(rs...)}
}

// Subjects of bindings.

func user(name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "User", ApiGroup: rbacGroup, Name: name}
}

func group(name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "Group", ApiGroup: rbacGroup, Name: name}
}

func serviceAccount(namespace, name string) *rbacv1.Subject {
	return &rbacv1.Subject{Kind: "ServiceAccount", Namespace: namespace, Name: name}
}

// clusterBinding grants the ClusterRole of its own name.
func clusterBinding(roleName string, subjects ...*rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		Metadata: meta(roleName),
		RoleRef:  &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "ClusterRole", Name: roleName},
		Subjects: subjects,
	}
}

// roleBinding grants, in its namespace, the Role of that namespace named
// roleName.
func roleBinding(namespace, name, roleName string, subjects ...*rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		Metadata: nsMeta(namespace, name),
		RoleRef:  &rbacv1.RoleRef{ApiGroup: rbacGroup, Kind: "Role", Name: roleName},
		Subjects: subjects,
	}
}
