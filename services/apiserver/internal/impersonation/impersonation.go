// Package impersonation lets a user act as another (kubectl --as, --as-group,
// --as-uid): the Impersonate-User, Impersonate-Group, Impersonate-Uid and
// Impersonate-Extra-<key> headers, each value allowed only when the
// authorizer lets the requesting user "impersonate" it (users, groups,
// serviceaccounts, uids, userextras/<key>), as Kubernetes checks them. An
// allowed request goes on as the impersonated user, without the headers.
package impersonation

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// The headers, as Kubernetes names them.
const (
	UserHeader        = "Impersonate-User"
	GroupHeader       = "Impersonate-Group"
	UIDHeader         = "Impersonate-Uid"
	ExtraHeaderPrefix = "Impersonate-Extra-"
)

// serviceAccountPrefix starts a service account's user name.
const serviceAccountPrefix = "system:serviceaccount:"

// Middleware serves requests that impersonate as the impersonated user,
// once every impersonated value is allowed; writeError answers a refused
// one (403) or a malformed one (400).
func Middleware(next http.Handler, a authorizer.Authorizer, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checks, as, err := requested(r.Header)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if len(checks) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		for _, attrs := range checks {
			if err := authorizer.Check(r.Context(), a, attrs); err != nil {
				writeError(w, r, err)
				return
			}
		}
		audit.LogImpersonatedUser(r.Context(), as)
		r = r.WithContext(auth.WithUser(r.Context(), as))
		r.Header.Del(UserHeader)
		r.Header.Del(GroupHeader)
		r.Header.Del(UIDHeader)
		for h := range r.Header {
			if strings.HasPrefix(h, ExtraHeaderPrefix) {
				r.Header.Del(h)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requested reads the headers into the checks to make and the user to act
// as. No headers is no checks.
func requested(h http.Header) ([]authorizer.Attributes, auth.User, error) {
	var checks []authorizer.Attributes
	var as auth.User
	check := func(group, resource, subresource, namespace, name string) {
		checks = append(checks, authorizer.Attributes{Verb: "impersonate", ResourceRequest: true, APIGroup: group,
			APIVersion: "v1", Resource: resource, Subresource: subresource, Namespace: namespace, Name: name})
	}
	_, groupsGiven := h[GroupHeader]
	if name := h.Get(UserHeader); name != "" {
		as.Name = name
		if ns, sa, ok := splitServiceAccount(name); ok {
			check("", "serviceaccounts", "", ns, sa)
			if !groupsGiven {
				as.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}
			}
		} else {
			check("", "users", "", "", name)
		}
	}
	for _, g := range h.Values(GroupHeader) {
		check("", "groups", "", "", g)
		as.Groups = append(as.Groups, g)
	}
	for header, values := range h {
		if !strings.HasPrefix(header, ExtraHeaderPrefix) {
			continue
		}
		key := strings.ToLower(header[len(ExtraHeaderPrefix):])
		if k, err := url.PathUnescape(key); err == nil {
			key = k
		}
		for _, v := range values {
			check("authentication.k8s.io", "userextras", key, "", v)
			if as.Extra == nil {
				as.Extra = map[string][]string{}
			}
			as.Extra[key] = append(as.Extra[key], v)
		}
	}
	if uid := h.Get(UIDHeader); uid != "" {
		check("authentication.k8s.io", "uids", "", "", uid)
		as.UID = uid
	}
	if len(checks) > 0 && as.Name == "" {
		return nil, auth.User{}, apierrors.NewBadRequest(fmt.Sprintf(
			"requested impersonation of groups, extra fields or a uid without impersonating a user: set the %s header too", UserHeader))
	}
	as.Groups = withAllGroup(as)
	return checks, as, nil
}

// withAllGroup adds system:authenticated (system:unauthenticated for the
// anonymous user) unless the groups already have one of them.
func withAllGroup(u auth.User) []string {
	if u.Name == auth.Anonymous.Name {
		if !slices.Contains(u.Groups, auth.UnauthenticatedGroup) {
			return append(u.Groups, auth.UnauthenticatedGroup)
		}
		return u.Groups
	}
	if slices.Contains(u.Groups, auth.AuthenticatedGroup) || slices.Contains(u.Groups, auth.UnauthenticatedGroup) {
		return u.Groups
	}
	return append(u.Groups, auth.AuthenticatedGroup)
}

// splitServiceAccount reads system:serviceaccount:<ns>:<name>.
func splitServiceAccount(user string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, serviceAccountPrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}
