package bootstrappolicy

import (
	rbacv1 "skiff.dev/api/rbac/v1"
)

// The namespaces that hold bootstrap Roles; both exist from the start.
const (
	kubeSystem = "kube-system"
	kubePublic = "kube-public"
)

// namespacedRoles are Kubernetes' Roles of kube-system and kube-public.
func namespacedRoles() []*rbacv1.Role {
	return []*rbacv1.Role{
		// Reads the ConfigMap that tells extension apiservers how to
		// authenticate their clients.
		role(kubeSystem, "extension-apiserver-authentication-reader",
			rule(read...).groups(core).resources("configmaps").names("extension-apiserver-authentication"),
		),
		// The bootstrap signer inspects kube-system's bootstrap tokens.
		role(kubeSystem, ControllerRolePrefix+"bootstrap-signer",
			rule(read...).groups(core).resources("secrets"),
		),
		// Deprecated in Kubernetes since 1.10, kept as it keeps it.
		role(kubeSystem, ControllerRolePrefix+"cloud-provider",
			rule("create", "get", "list", "watch").groups(core).resources("configmaps"),
		),
		// Removes expired bootstrap tokens, in kube-system only.
		role(kubeSystem, ControllerRolePrefix+"token-cleaner",
			rule("get", "list", "watch", "delete").groups(core).resources("secrets"),
			eventsRule(),
		),
		leaderLockingRole("kube-controller-manager"),
		leaderLockingRole("kube-scheduler"),
		// The bootstrap signer signs kube-public's cluster-info.
		role(kubePublic, ControllerRolePrefix+"bootstrap-signer",
			rule(read...).groups(core).resources("configmaps"),
			rule("update").groups(core).resources("configmaps").names("cluster-info"),
			eventsRule(),
		),
	}
}

// leaderLockingRole is a component's leader election in kube-system: the
// Lease (Skiff's election service mirrors its holder there), the lease
// candidates, and the ConfigMap lock of older releases.
func leaderLockingRole(component string) *rbacv1.Role {
	return role(kubeSystem, "system::leader-locking-"+component,
		rule("watch").groups(core).resources("configmaps"),
		rule("get", "update").groups(core).resources("configmaps").names(component),
		rule("get", "watch", "list", "create", "update").groups(coordinationGroup).resources("leases"),
		rule("get", "watch", "list", "create", "update").groups(coordinationGroup).resources("leasecandidates"),
	)
}

// namespacedRoleBindings are Kubernetes' RoleBindings of kube-system and
// kube-public.
func namespacedRoleBindings() []*rbacv1.RoleBinding {
	signer := ControllerRolePrefix + "bootstrap-signer"
	return []*rbacv1.RoleBinding{
		roleBinding(kubeSystem, "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
			user(userControllerManager), user(userScheduler)),
		roleBinding(kubeSystem, "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
			user(userControllerManager), serviceAccount(kubeSystem, "kube-controller-manager"),
			serviceAccount(kubeSystem, "leader-election-controller")),
		roleBinding(kubeSystem, "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
			user(userScheduler), serviceAccount(kubeSystem, "kube-scheduler")),
		roleBinding(kubeSystem, signer, signer, serviceAccount(kubeSystem, "bootstrap-signer")),
		roleBinding(kubeSystem, ControllerRolePrefix+"cloud-provider", ControllerRolePrefix+"cloud-provider",
			serviceAccount(kubeSystem, "cloud-provider")),
		roleBinding(kubeSystem, ControllerRolePrefix+"token-cleaner", ControllerRolePrefix+"token-cleaner",
			serviceAccount(kubeSystem, "token-cleaner")),
		roleBinding(kubePublic, signer, signer, serviceAccount(kubeSystem, "bootstrap-signer")),
	}
}
