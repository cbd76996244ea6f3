// Package kinds is the table of every resource the apiserver serves: names,
// scope, message types and the strategy (defaults, validation, selectors)
// that gives each kind its Kubernetes rules.
package kinds

import (
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	nodev1 "skiff.dev/api/node/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/patchmeta"
	"skiff.dev/services/apiserver/internal/registry"
)

func newOf[T any, P interface {
	*T
	proto.Message
}]() func() proto.Message {
	return func() proto.Message { return P(new(T)) }
}

// All returns the resources, in discovery order.
func All() []*registry.Resource {
	list := []*registry.Resource{
		core("namespaces", "namespace", "Namespace", false, true, newOf[corev1.Namespace](), newOf[corev1.NamespaceList](), namespaceStrategy, "ns"),
		core("pods", "pod", "Pod", true, true, newOf[corev1.Pod](), newOf[corev1.PodList](), podStrategy, "po"),
		core("nodes", "node", "Node", false, true, newOf[corev1.Node](), newOf[corev1.NodeList](), nodeStrategy, "no"),
		core("services", "service", "Service", true, true, newOf[corev1.Service](), newOf[corev1.ServiceList](), serviceStrategy, "svc"),
		core("endpoints", "endpoints", "Endpoints", true, false, newOf[corev1.Endpoints](), newOf[corev1.EndpointsList](), endpointsStrategy, "ep"),
		core("configmaps", "configmap", "ConfigMap", true, false, newOf[corev1.ConfigMap](), newOf[corev1.ConfigMapList](), configMapStrategy, "cm"),
		core("secrets", "secret", "Secret", true, false, newOf[corev1.Secret](), newOf[corev1.SecretList](), secretStrategy),
		core("serviceaccounts", "serviceaccount", "ServiceAccount", true, false, newOf[corev1.ServiceAccount](), newOf[corev1.ServiceAccountList](), serviceAccountStrategy, "sa"),
		core("events", "event", "Event", true, false, newOf[corev1.Event](), newOf[corev1.EventList](), eventStrategy, "ev"),
		podTemplates(),
		replicationControllers(),
		core("limitranges", "limitrange", "LimitRange", true, false, newOf[corev1.LimitRange](), newOf[corev1.LimitRangeList](), limitRangeStrategy, "limits"),
		core("resourcequotas", "resourcequota", "ResourceQuota", true, true, newOf[corev1.ResourceQuota](), newOf[corev1.ResourceQuotaList](), resourceQuotaStrategy, "quota"),
		apps("deployments", "deployment", "Deployment", newOf[appsv1.Deployment](), newOf[appsv1.DeploymentList](), deploymentStrategy, "deploy"),
		apps("replicasets", "replicaset", "ReplicaSet", newOf[appsv1.ReplicaSet](), newOf[appsv1.ReplicaSetList](), replicaSetStrategy, "rs"),
		jobs(),
		apps("daemonsets", "daemonset", "DaemonSet", newOf[appsv1.DaemonSet](), newOf[appsv1.DaemonSetList](), daemonSetStrategy, "ds"),
		statefulSets(),
		persistentVolumeClaims(),
		persistentVolumes(),
		{
			Group: "apps", Version: "v1", Plural: "controllerrevisions", Singular: "controllerrevision", Kind: "ControllerRevision",
			ListKind: "ControllerRevisionList", Namespaced: true,
			New: newOf[appsv1.ControllerRevision](), NewList: newOf[appsv1.ControllerRevisionList](), Strategy: controllerRevisionStrategy,
		},
		{
			Group: "discovery.k8s.io", Version: "v1", Plural: "endpointslices", Singular: "endpointslice", Kind: "EndpointSlice",
			ListKind: "EndpointSliceList", Namespaced: true,
			New: newOf[discoveryv1.EndpointSlice](), NewList: newOf[discoveryv1.EndpointSliceList](), Strategy: endpointSliceStrategy,
		},
		{
			Group: "coordination.k8s.io", Version: "v1", Plural: "leases", Singular: "lease", Kind: "Lease",
			ListKind: "LeaseList", Namespaced: true,
			New: newOf[coordinationv1.Lease](), NewList: newOf[coordinationv1.LeaseList](), Strategy: leaseStrategy,
		},
		{
			Group: "node.k8s.io", Version: "v1", Plural: "runtimeclasses", Singular: "runtimeclass", Kind: "RuntimeClass",
			ListKind: "RuntimeClassList",
			New:      newOf[nodev1.RuntimeClass](), NewList: newOf[nodev1.RuntimeClassList](), Strategy: runtimeClassStrategy,
		},
		certificateSigningRequests(),
		priorityClasses(),
		podDisruptionBudgets(),
		cronJobs(),
		{
			Group: "networking.k8s.io", Version: "v1", Plural: "ipaddresses", Singular: "ipaddress", Kind: "IPAddress",
			ListKind: "IPAddressList", ShortNames: []string{"ip"},
			New: newOf[networkingv1.IPAddress](), NewList: newOf[networkingv1.IPAddressList](), Strategy: ipAddressStrategy,
		},
		{
			Group: "networking.k8s.io", Version: "v1", Plural: "servicecidrs", Singular: "servicecidr", Kind: "ServiceCIDR",
			ListKind: "ServiceCIDRList", HasStatus: true,
			New: newOf[networkingv1.ServiceCIDR](), NewList: newOf[networkingv1.ServiceCIDRList](), Strategy: serviceCIDRStrategy,
		},
		{
			Group: "networking.k8s.io", Version: "v1", Plural: "networkpolicies", Singular: "networkpolicy", Kind: "NetworkPolicy",
			ListKind: "NetworkPolicyList", Namespaced: true, ShortNames: []string{"netpol"},
			New: newOf[networkingv1.NetworkPolicy](), NewList: newOf[networkingv1.NetworkPolicyList](), Strategy: networkPolicyStrategy,
		},
		{
			Group: "networking.k8s.io", Version: "v1", Plural: "ingresses", Singular: "ingress", Kind: "Ingress",
			ListKind: "IngressList", Namespaced: true, HasStatus: true, ShortNames: []string{"ing"},
			New: newOf[networkingv1.Ingress](), NewList: newOf[networkingv1.IngressList](), Strategy: ingressStrategy,
		},
		{
			Group: "networking.k8s.io", Version: "v1", Plural: "ingressclasses", Singular: "ingressclass", Kind: "IngressClass",
			ListKind: "IngressClassList",
			New:      newOf[networkingv1.IngressClass](), NewList: newOf[networkingv1.IngressClassList](), Strategy: ingressClassStrategy,
		},
		{
			Group: "rbac.authorization.k8s.io", Version: "v1", Plural: "roles", Singular: "role", Kind: "Role",
			ListKind: "RoleList", Namespaced: true,
			New: newOf[rbacv1.Role](), NewList: newOf[rbacv1.RoleList](), Strategy: roleStrategy,
		},
		{
			Group: "rbac.authorization.k8s.io", Version: "v1", Plural: "clusterroles", Singular: "clusterrole", Kind: "ClusterRole",
			ListKind: "ClusterRoleList",
			New:      newOf[rbacv1.ClusterRole](), NewList: newOf[rbacv1.ClusterRoleList](), Strategy: clusterRoleStrategy,
		},
		{
			Group: "rbac.authorization.k8s.io", Version: "v1", Plural: "rolebindings", Singular: "rolebinding", Kind: "RoleBinding",
			ListKind: "RoleBindingList", Namespaced: true,
			New: newOf[rbacv1.RoleBinding](), NewList: newOf[rbacv1.RoleBindingList](), Strategy: roleBindingStrategy,
		},
		{
			Group: "rbac.authorization.k8s.io", Version: "v1", Plural: "clusterrolebindings", Singular: "clusterrolebinding",
			Kind: "ClusterRoleBinding", ListKind: "ClusterRoleBindingList",
			New: newOf[rbacv1.ClusterRoleBinding](), NewList: newOf[rbacv1.ClusterRoleBindingList](), Strategy: clusterRoleBindingStrategy,
		},
		validatingWebhookConfigurations(),
		mutatingWebhookConfigurations(),
		customResourceDefinitions(),
		{
			Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Plural: "flowschemas", Singular: "flowschema", Kind: "FlowSchema",
			ListKind: "FlowSchemaList", HasStatus: true,
			New: newOf[flowcontrolv1.FlowSchema](), NewList: newOf[flowcontrolv1.FlowSchemaList](), Strategy: flowSchemaStrategy,
		},
		{
			Group: "flowcontrol.apiserver.k8s.io", Version: "v1", Plural: "prioritylevelconfigurations", Singular: "prioritylevelconfiguration",
			Kind: "PriorityLevelConfiguration", ListKind: "PriorityLevelConfigurationList", HasStatus: true,
			New: newOf[flowcontrolv1.PriorityLevelConfiguration](), NewList: newOf[flowcontrolv1.PriorityLevelConfigurationList](),
			Strategy: priorityLevelStrategy,
		},
	}
	list = append(list, storageKinds()...)
	for _, r := range list {
		if r.Group == "" && r.Plural == "events" {
			list = append(list, eventsV1(r))
			break
		}
	}
	extra := map[string][]string{"apps/deployments": {"scale"}, "apps/replicasets": {"scale"}, "apps/statefulsets": {"scale"}, "/pods": {"binding", "eviction"},
		"/serviceaccounts": {"token"}, "/replicationcontrollers": {"scale"}}
	parts := map[string]map[string][]string{
		"/namespaces": {"finalize": {"spec"}},
		"/pods":       {"ephemeralcontainers": {"spec", "ephemeral_containers"}},
		"certificates.k8s.io/certificatesigningrequests": {"approval": {"status", "conditions"}},
	}
	traced := []string{"/pods", "/replicationcontrollers", "/services", "/endpoints", "apps/deployments", "apps/replicasets", "apps/statefulsets",
		"discovery.k8s.io/endpointslices"}
	for _, r := range list {
		r.Traced = slices.Contains(traced, r.Group+"/"+r.Plural)
		r.PatchMeta = patchmeta.For(r.New())
		if r.HasStatus {
			r.Subresources = append(r.Subresources, "status")
		}
		r.Subresources = append(r.Subresources, extra[r.Group+"/"+r.Plural]...)
		r.Parts = parts[r.Group+"/"+r.Plural]
		for _, name := range slices.Sorted(maps.Keys(r.Parts)) {
			r.Subresources = append(r.Subresources, name)
		}
	}
	setCategories(list, []string{"pods", "replicationcontrollers", "services", "daemonsets", "deployments", "replicasets", "statefulsets"}, "all")
	return list
}

func core(plural, singular, kind string, namespaced, status bool, newObj, newList func() proto.Message, st registry.Strategy, short ...string) *registry.Resource {
	return &registry.Resource{
		Version: "v1", Plural: plural, Singular: singular, Kind: kind, ListKind: kind + "List",
		ShortNames: short, Namespaced: namespaced, HasStatus: status,
		New: newObj, NewList: newList, Strategy: st,
	}
}

// podTemplates has no short name; its template is what bumps the
// generation, as Kubernetes' strategy does.
func podTemplates() *registry.Resource {
	r := core("podtemplates", "podtemplate", "PodTemplate", true, false, newOf[corev1.PodTemplate](), newOf[corev1.PodTemplateList](), podTemplateStrategy)
	r.SpecPart = "template"
	return r
}

func apps(plural, singular, kind string, newObj, newList func() proto.Message, st registry.Strategy, short ...string) *registry.Resource {
	r := core(plural, singular, kind, true, true, newObj, newList, st, short...)
	r.Group = "apps"
	return r
}

func setCategories(list []*registry.Resource, plurals []string, category string) {
	for _, r := range list {
		for _, p := range plurals {
			if r.Plural == p {
				r.Categories = append(r.Categories, category)
			}
		}
	}
}
