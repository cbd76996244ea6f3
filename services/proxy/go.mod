module skiff.dev/services/proxy

go 1.26.0

replace (
	skiff.dev/api => ../../api
	skiff.dev/pkg => ../../pkg
)

require golang.org/x/sys v0.48.0
