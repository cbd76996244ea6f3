package iptables

import "skiff.dev/services/proxy/internal/model/modeltest"

var (
	testOptions = modeltest.Options
	web         = modeltest.Web
	ep          = modeltest.Endpoint
	fixtures    = modeltest.Fixtures()
)
