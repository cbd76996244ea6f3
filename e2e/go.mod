module skiff.dev/e2e

go 1.26.0

require (
	skiff.dev/api v0.0.0
	skiff.dev/pkg v0.0.0
	skiff.dev/services/apiserver v0.0.0
)

replace (
	skiff.dev/api => ../api
	skiff.dev/pkg => ../pkg
	skiff.dev/services/apiserver => ../services/apiserver
)
