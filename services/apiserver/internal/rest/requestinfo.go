// Package rest is the apiserver's Kubernetes-compatible HTTP face: it maps
// Kubernetes URLs and verbs onto the resources' registry backends, speaks
// JSON, YAML, Kubernetes protobuf and Table, streams watches, applies
// patches and answers every failure with a metav1.Status.
package rest

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource URL and method say.
type requestInfo struct {
	Group       string
	Version     string
	Namespace   string
	Resource    string
	Name        string
	Subresource string
	Verb        string
}

// namespaceSubresources are the subresources of a namespace itself, which
// would otherwise read as a resource inside it.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseRequestInfo reads /api/v1/... and /apis/<group>/<version>/... paths.
// ok is false for paths that are not resource requests.
func parseRequestInfo(r *http.Request) (requestInfo, bool) {
	parts := splitPath(r.URL.Path)
	var info requestInfo
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		info.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		info.Group, info.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return info, false
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		info.Namespace = parts[1]
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		} else {
			// The namespace object itself: namespaces/<name>[/status].
			info.Namespace = ""
			parts = append([]string{"namespaces", parts[1]}, parts[2:]...)
		}
	}
	info.Resource = parts[0]
	if len(parts) > 1 {
		info.Name = parts[1]
	}
	if len(parts) > 2 {
		info.Subresource = strings.Join(parts[2:], "/")
	}
	info.Verb = verbOf(r, info)
	return info, true
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// verbOf is the Kubernetes verb of a request.
func verbOf(r *http.Request, info requestInfo) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case isWatch(r):
			return "watch"
		case info.Name == "":
			return "list"
		default:
			return "get"
		}
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if info.Name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

func isWatch(r *http.Request) bool {
	v := r.URL.Query().Get("watch")
	return v == "true" || v == "1"
}
