package bootstrappolicy

import (
	rbacv1 "skiff.dev/api/rbac/v1"
)

// Users and groups the bindings name.
const (
	groupMasters          = "system:masters"
	groupAuthenticated    = "system:authenticated"
	groupUnauthenticated  = "system:unauthenticated"
	groupMonitoring       = "system:monitoring"
	groupServiceAccounts  = "system:serviceaccounts"
	userKubeProxy         = "system:kube-proxy"
	userControllerManager = "system:kube-controller-manager"
	userScheduler         = "system:kube-scheduler"
	// cloudControllerManager is the user of Skiff's cloud-controller and
	// the name of its role and binding.
	cloudControllerManager = "system:cloud-controller-manager"
)

// clusterRoleBindings are Kubernetes' ClusterRoleBindings, each named after
// the role it grants (the controllers' are made from controllerRoles).
func clusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	return []*rbacv1.ClusterRoleBinding{
		clusterBinding("cluster-admin", group(groupMasters)),
		clusterBinding("system:monitoring", group(groupMonitoring)),
		clusterBinding("system:discovery", group(groupAuthenticated)),
		clusterBinding("system:basic-user", group(groupAuthenticated)),
		clusterBinding("system:public-info-viewer", group(groupAuthenticated), group(groupUnauthenticated)),
		clusterBinding("system:node-proxier", user(userKubeProxy)),
		clusterBinding("system:kube-controller-manager", user(userControllerManager)),
		clusterBinding("system:kube-dns", serviceAccount(kubeSystem, "kube-dns")),
		clusterBinding("system:kube-scheduler", user(userScheduler)),
		clusterBinding("system:volume-scheduler", user(userScheduler)),
		// Without subjects: the Node authorizer grants nodes this role in
		// Kubernetes; the binding stays so that a cluster that once bound
		// the system:nodes group keeps a binding to remove it from.
		clusterBinding("system:node"),
		// Every workload may read the service-account issuer's discovery
		// documents.
		clusterBinding("system:service-account-issuer-discovery", group(groupServiceAccounts)),
	}
}

// cloudControllerBinding grants Skiff's cloud-controller its role.
func cloudControllerBinding() *rbacv1.ClusterRoleBinding {
	return clusterBinding(cloudControllerManager, user(cloudControllerManager))
}

// networkPolicyBinding grants the proxy (system:kube-proxy) the role of
// its NetworkPolicy enforcement.
func networkPolicyBinding() *rbacv1.ClusterRoleBinding {
	return clusterBinding(NetworkPolicyRole, user(userKubeProxy))
}

// AuthDelegatorBinding names Skiff's binding of system:auth-delegator.
const AuthDelegatorBinding = "skiff:auth-delegator"

// authDelegatorBinding lets the components whose Kubernetes roles lack
// them create the TokenReviews and SubjectAccessReviews their metrics
// ports ask (Skiff's: kube-proxy serves its metrics without
// authentication, and a cloud-controller-manager's installer binds the
// role itself). kube-scheduler's and kube-controller-manager's roles, and
// the kubelets' system:node, have both already.
func authDelegatorBinding() *rbacv1.ClusterRoleBinding {
	b := clusterBinding("system:auth-delegator", user(userKubeProxy), user(cloudControllerManager))
	b.Metadata.Name = AuthDelegatorBinding
	return b
}
