package kinds

import (
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// LimitRanges and ResourceQuotas, the namespaces' policies that the
// LimitRanger and ResourceQuota admission plugins enforce. A quota's
// status (what its namespace uses) is written through resourcequotas/status
// by the quota admission and the resourcequota controller; its scopes
// never change.
var (
	limitRangeStrategy = registry.Strategy{
		Default:  mutate(defaults.LimitRange),
		Validate: check(validate.ValidateLimitRange),
	}
	resourceQuotaStrategy = registry.Strategy{
		Default:        mutate(defaults.ResourceQuota),
		Validate:       check(validate.ValidateResourceQuota),
		ValidateUpdate: checkUpdate(validate.ValidateResourceQuotaUpdate),
	}
)
