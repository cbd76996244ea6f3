package bootstrappolicy

import (
	rbacv1 "skiff.dev/api/rbac/v1"
)

// Signer names of certificates.k8s.io that roles may approve or sign for.
const (
	signerLegacyUnknown          = "kubernetes.io/legacy-unknown"
	signerKubeletServing         = "kubernetes.io/kubelet-serving"
	signerAPIServerClient        = "kubernetes.io/kube-apiserver-client"
	signerAPIServerClientKubelet = "kubernetes.io/kube-apiserver-client-kubelet"
)

// clusterRoles are Kubernetes' ClusterRoles for people and for the control
// plane's components (the controllers' are in controllerRoles).
func clusterRoles() []*rbacv1.ClusterRole {
	return []*rbacv1.ClusterRole{
		// Everything, everywhere.
		clusterRole(meta("cluster-admin"),
			rule("*").groups("*").resources("*"),
			rule("*").urls("*"),
		),
		// Enough to learn whether the server is up and which APIs it serves.
		clusterRole(meta("system:discovery"),
			rule("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/",
				"/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"),
		),
		// Metrics and health checks, the individual checks included.
		clusterRole(meta("system:monitoring"),
			rule("get").urls("/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz",
				"/livez/*", "/readyz/*", "/healthz/*"),
			rule("get").groups(core).resources("nodes/metrics"),
		),
		// What any user may ask about themselves.
		clusterRole(meta("system:basic-user"),
			rule("create").groups(authzGroup).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			rule("create").groups(authnGroup).resources("selfsubjectreviews"),
		),
		// What anyone, signed in or not, may read.
		clusterRole(meta("system:public-info-viewer"),
			rule("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/"),
		),

		// The user-facing roles gather the rules of the roles labelled to
		// join them; edit joins admin and view joins edit.
		aggregatedRole(meta("admin")),
		aggregatedRole(meta("edit", aggregateLabel("admin"), "true")),
		aggregatedRole(meta("view", aggregateLabel("edit"), "true")),
		clusterRole(meta("system:aggregate-to-admin", aggregateLabel("admin"), "true"),
			rule("create").groups(authzGroup).resources("localsubjectaccessreviews"),
			rule(readWrite...).groups(rbacGroup).resources("roles", "rolebindings"),
		),
		clusterRole(meta("system:aggregate-to-edit", aggregateLabel("edit"), "true"), editRules()...),
		clusterRole(meta("system:aggregate-to-view", aggregateLabel("view"), "true"), viewRules()...),

		clusterRole(meta("system:heapster"),
			rule(read...).groups(core).resources("events", "pods", "nodes", "namespaces"),
			rule(read...).groups(extensionsGroup).resources("deployments"),
		),
		clusterRole(meta("system:node"), nodeRules()...),
		// Not bound by default: where the detector runs varies.
		clusterRole(meta("system:node-problem-detector"),
			rule("get").groups(core).resources("nodes"),
			rule("patch").groups(core).resources("nodes/status"),
			eventsRule(),
		),
		// A node asking for its client certificate.
		clusterRole(meta("system:node-bootstrapper"),
			rule("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests"),
		),
		// Servers that delegate authentication and authorization.
		clusterRole(meta("system:auth-delegator"),
			rule("create").groups(authnGroup).resources("tokenreviews"),
			rule("create").groups(authzGroup).resources("subjectaccessreviews"),
		),
		clusterRole(meta("system:kube-aggregator"),
			rule(read...).groups(core).resources("services", "endpoints"),
		),
		// kube-controller-manager's own identity: its shared informers,
		// leader election and the service accounts of its controllers.
		clusterRole(meta("system:kube-controller-manager"),
			eventsRule(),
			rule("create").groups(coordinationGroup).resources("leases"),
			rule("get", "update").groups(coordinationGroup).resources("leases").names("kube-controller-manager"),
			rule("create").groups(core).resources("secrets", "serviceaccounts"),
			rule("delete").groups(core).resources("secrets"),
			rule("get").groups(core).resources("namespaces", "secrets", "serviceaccounts", "configmaps"),
			rule("update").groups(core).resources("secrets", "serviceaccounts"),
			rule("create").groups(authnGroup).resources("tokenreviews"),
			rule("create").groups(authzGroup).resources("subjectaccessreviews"),
			rule("list", "watch").groups("*").resources("*"),
			rule("create").groups(core).resources("serviceaccounts/token"),
		),
		clusterRole(meta("system:kube-dns"),
			rule("list", "watch").groups(core).resources("endpoints", "services"),
		),
		// An out-of-tree persistent volume provisioner.
		clusterRole(meta("system:persistent-volume-provisioner"),
			rule("get", "list", "watch", "create", "delete").groups(core).resources("persistentvolumes"),
			rule("get", "list", "watch", "update").groups(core).resources("persistentvolumeclaims"),
			rule(read...).groups(storageGroup).resources("storageclasses"),
			rule("watch").groups(core).resources("events"),
			eventsRule(),
		),
		// Granting these lets the certificate controller approve a node's
		// client certificate request (its own, for selfnodeclient).
		clusterRole(meta("system:certificates.k8s.io:certificatesigningrequests:nodeclient"),
			rule("create").groups(certificatesGroup).resources("certificatesigningrequests/nodeclient"),
		),
		clusterRole(meta("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"),
			rule("create").groups(certificatesGroup).resources("certificatesigningrequests/selfnodeclient"),
		),
		clusterRole(meta("system:volume-scheduler"),
			rule(readUpdate...).groups(core).resources("persistentvolumes"),
			rule(read...).groups(storageGroup).resources("storageclasses"),
			rule(readUpdate...).groups(core).resources("persistentvolumeclaims"),
		),
		approverRole("legacy-unknown-approver", signerLegacyUnknown),
		approverRole("kubelet-serving-approver", signerKubeletServing),
		approverRole("kube-apiserver-client-approver", signerAPIServerClient),
		approverRole("kube-apiserver-client-kubelet-approver", signerAPIServerClientKubelet),
		// The issuer discovery documents, with the slash-ended paths older
		// generated clients ask for.
		clusterRole(meta("system:service-account-issuer-discovery"),
			rule("get").urls("/.well-known/openid-configuration", "/.well-known/openid-configuration/",
				"/openid/v1/jwks", "/openid/v1/jwks/"),
		),
		// Full use of the kubelets' API.
		clusterRole(meta("system:kubelet-api-admin"),
			rule("get", "list", "watch").groups(core).resources("nodes"),
			rule("proxy").groups(core).resources("nodes"),
			rule("*").groups(core).resources("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"),
			rule("*").groups(core).resources("nodes/pods", "nodes/healthz", "nodes/configz"),
		),
		// kube-proxy.
		clusterRole(meta("system:node-proxier"),
			rule("list", "watch").groups(core).resources("services", "endpoints"),
			rule("get", "list", "watch").groups(core).resources("nodes"),
			eventsRule(),
			rule("list", "watch").groups(networkingGroup).resources("servicecidrs"),
			rule("list", "watch").groups(discoveryGroup).resources("endpointslices"),
		),
		clusterRole(meta("system:kube-scheduler"), schedulerRules()...),
	}
}

// approverRole lets the certificate controller's approver act for a signer.
func approverRole(name, signer string) *rbacv1.ClusterRole {
	return clusterRole(meta("system:certificates.k8s.io:"+name),
		rule("approve").groups(certificatesGroup).resources("signers").names(signer))
}

// viewRules read what a namespace holds, except secrets and what would
// let the reader act as someone else.
func viewRules() []ruleBuilder {
	return []ruleBuilder{
		rule(read...).groups(core).resources("pods", "replicationcontrollers", "replicationcontrollers/scale",
			"serviceaccounts", "services", "services/status", "endpoints", "persistentvolumeclaims",
			"persistentvolumeclaims/status", "configmaps"),
		rule(read...).groups(core).resources("limitranges", "resourcequotas", "bindings", "events", "pods/status",
			"resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log"),
		// In a RoleBinding, this namespace only: how users learn where
		// they have access.
		rule(read...).groups(core).resources("namespaces"),
		rule(read...).groups(discoveryGroup).resources("endpointslices"),
		rule(read...).groups(appsGroup).resources("controllerrevisions",
			"statefulsets", "statefulsets/status", "statefulsets/scale",
			"daemonsets", "daemonsets/status",
			"deployments", "deployments/status", "deployments/scale",
			"replicasets", "replicasets/status", "replicasets/scale"),
		rule(read...).groups(autoscalingGroup).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status"),
		rule(read...).groups(batchGroup).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status"),
		rule(read...).groups(extensionsGroup).resources("daemonsets", "daemonsets/status", "deployments",
			"deployments/scale", "deployments/status", "ingresses", "ingresses/status", "replicasets",
			"replicasets/scale", "replicasets/status", "replicationcontrollers/scale", "networkpolicies"),
		rule(read...).groups(policyGroup).resources("poddisruptionbudgets", "poddisruptionbudgets/status"),
		rule(read...).groups(networkingGroup).resources("networkpolicies", "ingresses", "ingresses/status"),
		rule(read...).groups(resourceGroup).resources("resourceclaims", "resourceclaims/status", "resourceclaimtemplates"),
	}
}

// editRules change what a namespace holds, and read its secrets and what
// lets the editor act as its service accounts; not roles, bindings,
// quotas or limits.
func editRules() []ruleBuilder {
	return []ruleBuilder{
		rule(read...).groups(core).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward",
			"secrets", "services/proxy"),
		rule("impersonate").groups(core).resources("serviceaccounts"),
		rule(write...).groups(core).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
		rule("create").groups(core).resources("pods/eviction"),
		rule(write...).groups(core).resources("replicationcontrollers", "replicationcontrollers/scale",
			"serviceaccounts", "services", "services/proxy", "persistentvolumeclaims", "configmaps",
			"secrets", "events"),
		rule("create").groups(core).resources("serviceaccounts/token"),
		rule(write...).groups(appsGroup).resources("statefulsets", "statefulsets/scale", "daemonsets",
			"deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"),
		rule(write...).groups(autoscalingGroup).resources("horizontalpodautoscalers"),
		rule(write...).groups(batchGroup).resources("jobs", "cronjobs"),
		rule(write...).groups(extensionsGroup).resources("daemonsets", "deployments", "deployments/scale",
			"deployments/rollback", "ingresses", "replicasets", "replicasets/scale",
			"replicationcontrollers/scale", "networkpolicies"),
		rule(write...).groups(policyGroup).resources("poddisruptionbudgets"),
		rule(write...).groups(networkingGroup).resources("networkpolicies", "ingresses"),
		rule(readWrite...).groups(coordinationGroup).resources("leases"),
		rule(write...).groups(resourceGroup).resources("resourceclaims", "resourceclaimtemplates"),
	}
}

// nodeRules are the kubelets' (the Node authorizer and NodeRestriction
// admission narrow them to a node's own objects in Kubernetes).
func nodeRules() []ruleBuilder {
	return []ruleBuilder{
		rule("create").groups(authnGroup).resources("tokenreviews"),
		rule("create").groups(authzGroup).resources("subjectaccessreviews", "localsubjectaccessreviews"),
		rule(read...).groups(core).resources("services"),
		rule("create", "get", "list", "watch").groups(core).resources("nodes"),
		rule("update", "patch").groups(core).resources("nodes/status"),
		rule("update", "patch").groups(core).resources("nodes"),
		rule("create", "update", "patch").groups(core).resources("events"),
		rule(read...).groups(core).resources("pods"),
		// Mirror pods.
		rule("create", "delete").groups(core).resources("pods"),
		rule("update", "patch").groups(core).resources("pods/status"),
		rule("create").groups(core).resources("pods/eviction"),
		rule("get", "list", "watch").groups(core).resources("secrets", "configmaps"),
		rule("get").groups(core).resources("persistentvolumeclaims", "persistentvolumes"),
		rule("get").groups(core).resources("endpoints"),
		// Rotating its own client certificate.
		rule("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests"),
		rule("get", "create", "update", "patch", "delete").groups(coordinationGroup).resources("leases"),
		rule("get").groups(storageGroup).resources("volumeattachments"),
		rule("create").groups(core).resources("serviceaccounts/token"),
		rule("get", "update", "patch").groups(core).resources("persistentvolumeclaims/status"),
		rule("get", "watch", "list").groups(storageGroup).resources("csidrivers"),
		rule("get", "create", "update", "patch", "delete").groups(storageGroup).resources("csinodes"),
		rule("get", "list", "watch").groups(nodeGroup).resources("runtimeclasses"),
		rule("get").groups(resourceGroup).resources("resourceclaims"),
		rule("deletecollection").groups(resourceGroup).resources("resourceslices"),
		// Service account tokens for image credential providers.
		rule("get").groups(core).resources("serviceaccounts"),
	}
}

// schedulerRules are kube-scheduler's.
func schedulerRules() []ruleBuilder {
	return []ruleBuilder{
		eventsRule(),
		rule("create").groups(coordinationGroup).resources("leases"),
		rule("get", "update", "list", "watch").groups(coordinationGroup).resources("leases").names("kube-scheduler"),
		rule(readWrite...).groups(coordinationGroup).resources("leasecandidates"),
		rule(read...).groups(core).resources("nodes"),
		rule("get", "list", "watch", "delete").groups(core).resources("pods"),
		rule("create").groups(core).resources("pods/binding", "bindings"),
		rule("patch", "update").groups(core).resources("pods/status"),
		// What selects pods.
		rule(read...).groups(core).resources("services", "replicationcontrollers"),
		rule(read...).groups(appsGroup, extensionsGroup).resources("replicasets"),
		rule(read...).groups(appsGroup).resources("statefulsets"),
		// What pods use or what applies to them.
		rule(read...).groups(policyGroup).resources("poddisruptionbudgets"),
		rule(read...).groups(core).resources("persistentvolumeclaims", "persistentvolumes"),
		rule("create").groups(authnGroup).resources("tokenreviews"),
		rule("create").groups(authzGroup).resources("subjectaccessreviews"),
		rule(read...).groups(storageGroup).resources("csinodes"),
		rule("get", "list", "watch").groups(storageGroup).resources("volumeattachments"),
		// Namespace selectors of pod affinity.
		rule(read...).groups(core).resources("namespaces"),
		rule(read...).groups(storageGroup).resources("csidrivers"),
		rule(read...).groups(storageGroup).resources("csistoragecapacities"),
		// Dynamic resource allocation.
		rule(read...).groups(resourceGroup).resources("deviceclasses"),
		rule(readUpdate...).groups(resourceGroup).resources("resourceclaims"),
		rule(readUpdate...).groups(resourceGroup).resources("resourceclaims/status"),
		rule("update").groups(core).resources("pods/finalizers"),
		rule(read...).groups(resourceGroup).resources("resourceslices"),
	}
}

// cloudControllerRole is Skiff's cloud-controller's (there is no such
// role in Kubernetes' bootstrap policy; its cloud-controller-manager
// documentation has one much like it): the node controller initializes,
// updates and deletes Nodes, the route controller writes their
// NetworkUnavailable condition, the service controller writes Services'
// finalizer and load-balancer status, the persistentvolume-label
// controller labels PersistentVolumes (Kubernetes' documented role has
// persistentvolumes get, list, update, watch for it); all of them record
// events. Its
// leader election mirrors into the Lease of that name in kube-system.
func cloudControllerRole() *rbacv1.ClusterRole {
	return clusterRole(meta(cloudControllerManager),
		eventsRule(),
		rule("create").groups(coordinationGroup).resources("leases"),
		rule("get", "update").groups(coordinationGroup).resources("leases").names("cloud-controller-manager"),
		rule("get", "list", "watch", "update", "patch", "delete").groups(core).resources("nodes"),
		rule("update", "patch").groups(core).resources("nodes/status"),
		rule("get", "list", "watch", "update", "patch").groups(core).resources("services"),
		rule("update", "patch").groups(core).resources("services/status"),
		rule("get", "list", "watch", "update").groups(core).resources("persistentvolumes"),
	)
}

// NetworkPolicyRole names Skiff's role of the proxy's NetworkPolicy
// enforcement, and its binding.
const NetworkPolicyRole = "skiff:node-network-policy"

// networkPolicyRole lets the proxy enforce NetworkPolicies (Kubernetes has
// no such role: its policy agents are add-ons that bring their own): the
// policies, and the pods and namespaces their selectors pick, cluster-wide,
// read only.
func networkPolicyRole() *rbacv1.ClusterRole {
	return clusterRole(meta(NetworkPolicyRole),
		rule("list", "watch").groups(core).resources("pods", "namespaces"),
		rule("list", "watch").groups(networkingGroup).resources("networkpolicies"),
	)
}

// NodeRules are the rules of the system:node role, which the Node
// authorizer grants every kubelet (narrowed to its own objects for the
// kinds it tracks, and by NodeRestriction admission for writes).
func NodeRules() []*rbacv1.PolicyRule { return rules(nodeRules()...) }
