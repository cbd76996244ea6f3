package kinds

import (
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// The rbac.authorization.k8s.io kinds: names are path segments
// ("system:node"), bindings' role references never change, and a
// ClusterRole's selectors are checked strictly only when it is created.
var (
	roleStrategy = registry.Strategy{
		Validate:       check(validate.ValidateRole),
		NameValidation: validate.RBACName,
	}
	clusterRoleStrategy = registry.Strategy{
		ValidateCreate: check(validate.ValidateClusterRole),
		ValidateUpdate: checkUpdate(validate.ValidateClusterRoleUpdate),
		NameValidation: validate.RBACName,
	}
	roleBindingStrategy = registry.Strategy{
		Default:        mutate(defaults.RoleBinding),
		Validate:       check(validate.ValidateRoleBinding),
		ValidateUpdate: checkUpdate(validate.ValidateRoleBindingUpdate),
		NameValidation: validate.RBACName,
	}
	clusterRoleBindingStrategy = registry.Strategy{
		Default:        mutate(defaults.ClusterRoleBinding),
		Validate:       check(validate.ValidateClusterRoleBinding),
		ValidateUpdate: checkUpdate(validate.ValidateClusterRoleBindingUpdate),
		NameValidation: validate.RBACName,
	}
)
