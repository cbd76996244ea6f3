package rest

import (
	"net/http"
	"strings"

	"skiff.dev/services/apiserver/internal/authorizer"
)

// Authorize refuses, with Kubernetes' 403, every request the authorizer
// does not allow, before next sees it: resource requests by their verb,
// group, resource, subresource, namespace and name, every other path by
// its HTTP method, as Kubernetes' request info describes them. The user is
// the one authentication put into the request's context.
func Authorize(next http.Handler, a authorizer.Authorizer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, attrs := range RequestAttributes(r) {
			if err := authorizer.Check(r.Context(), a, attrs); err != nil {
				writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RequestAttributes describe what a request asks for, as the authorizer
// sees it; most requests are one check. A list or watch restricted to one
// name by a metadata.name field selector names it, so a rule with
// resourceNames can allow it. A WebSocket GET of pods/exec, attach or
// portforward (which runs a command, whatever its method) is also checked
// as a create, as Kubernetes does.
func RequestAttributes(r *http.Request) []authorizer.Attributes {
	info, ok := parseRequestInfo(r)
	if !ok {
		return []authorizer.Attributes{{Verb: strings.ToLower(r.Method), Path: r.URL.Path}}
	}
	name := info.Name
	if name == "" && (info.Verb == "list" || info.Verb == "watch") {
		name = authorizer.SelectedName(r.URL.Query().Get("fieldSelector"))
	}
	attrs := authorizer.ResourceRequest(info.Verb, info.Group, info.Version, info.Resource, info.Subresource, info.Namespace, name)
	out := []authorizer.Attributes{attrs}
	if attrs.Verb == "get" && connectsToPod(info) && isUpgrade(r) {
		attrs.Verb = "create"
		out = append(out, attrs)
	}
	return out
}

func connectsToPod(info requestInfo) bool {
	if info.Group != "" || info.Resource != "pods" {
		return false
	}
	switch info.Subresource {
	case "exec", "attach", "portforward":
		return true
	}
	return false
}

func isUpgrade(r *http.Request) bool {
	for v := range strings.SplitSeq(r.Header.Get("Connection"), ",") {
		if strings.EqualFold(strings.TrimSpace(v), "upgrade") {
			return true
		}
	}
	return false
}
