module skiff.dev/e2e

go 1.26.0

replace (
	skiff.dev/api => ../api
	skiff.dev/pkg => ../pkg
	skiff.dev/services/apiserver => ../services/apiserver
)
