package app

import (
	"net/http"
	"strings"

	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/rest"
)

// auditAttributes describe a request to the audit policy and its events as
// Kubernetes' request info does: what authorization checks, except that a
// list or watch names no object (a metadata.name field selector lets RBAC
// match resourceNames, not the policy) and a proxy subresource is "proxy"
// whatever path follows it.
func auditAttributes(r *http.Request) authorizer.Attributes {
	a := rest.RequestAttributes(r)[0]
	if a.Verb == "list" || a.Verb == "watch" {
		a.Name = ""
	}
	a.Subresource, _, _ = strings.Cut(a.Subresource, "/")
	return a
}
