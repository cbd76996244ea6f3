package authorizer

import (
	"context"
	"log/slog"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
)

// Check authorizes a request of the user ctx carries (set by
// authentication; a context without one is refused), filling the user into
// attrs. A request that is not allowed gets Kubernetes' 403, whose message
// names the user, verb and resource; an authorizer's error is logged and
// refuses the request as well.
func Check(ctx context.Context, a Authorizer, attrs Attributes) error {
	u, ok := auth.UserFrom(ctx)
	if !ok {
		return Forbidden(attrs, "no user")
	}
	attrs.User, attrs.Groups, attrs.UID, attrs.Extra = u.Name, u.Groups, u.UID, u.Extra
	d, reason, err := a.Authorize(ctx, attrs)
	if d == DecisionAllow {
		return nil
	}
	if err != nil {
		slog.WarnContext(ctx, "authorizing a request", "user", attrs.User, "verb", attrs.Verb, "resource", attrs.Resource, "err", err)
	}
	return Forbidden(attrs, reason)
}

// Forbidden is the 403 of a refused request, as Kubernetes words it:
// `pods "web" is forbidden: User "u" cannot get resource "pods" in API
// group "" in the namespace "ns"`, or `forbidden: User "u" cannot get path
// "/metrics"`.
func Forbidden(attrs Attributes, reason string) error {
	msg := ForbiddenMessage(attrs, reason)
	if !attrs.ResourceRequest {
		return apierrors.NewForbidden(apierrors.Resource{}, "", msg)
	}
	return apierrors.NewForbidden(apierrors.Resource{Group: attrs.APIGroup, Resource: attrs.Resource}, attrs.Name, msg)
}
