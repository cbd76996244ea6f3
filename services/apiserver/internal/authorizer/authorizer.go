// Package authorizer decides whether an authenticated user may make a
// request, the same way on both API faces: each face describes its request
// as Attributes (verb, resource, namespace, name; or a non-resource path),
// and an Authorizer answers Allow, Deny or NoOpinion with a reason.
// Authorizers are chained as Kubernetes chains its authorization modes: the
// first that allows or denies decides, and a request no one allows is
// refused with Kubernetes' 403 message.
package authorizer

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Attributes describe one request to authorize.
type Attributes struct {
	User   string
	Groups []string
	// UID and Extra of the user, as the reviews report them.
	UID   string
	Extra map[string][]string
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for resource requests (or a special verb such as
	// impersonate, bind or escalate), and the lower-case HTTP method
	// (get, post, ...) for non-resource requests.
	Verb            string
	ResourceRequest bool
	Namespace       string
	APIGroup        string
	APIVersion      string
	Resource        string
	Subresource     string
	Name            string
	// Path is the URL path of a non-resource request.
	Path string
}

// Decision is an authorizer's answer, numbered as Kubernetes numbers it.
type Decision int

const (
	// DecisionDeny refuses the request outright.
	DecisionDeny Decision = iota
	// DecisionAllow allows the request.
	DecisionAllow
	// DecisionNoOpinion leaves the request to the next authorizer.
	DecisionNoOpinion
)

// Authorizer decides one request. The reason says why (shown to the user in
// a 403 and in the reviews); err says the authorizer could not decide.
type Authorizer interface {
	Authorize(ctx context.Context, attrs Attributes) (d Decision, reason string, err error)
}

// Func adapts a function to Authorizer.
type Func func(ctx context.Context, attrs Attributes) (Decision, string, error)

// Authorize calls f.
func (f Func) Authorize(ctx context.Context, attrs Attributes) (Decision, string, error) {
	return f(ctx, attrs)
}

// Union asks its authorizers in order; the first that allows or denies
// decides. Otherwise the answer is NoOpinion with the reasons and errors of
// all, as Kubernetes' union authorizer joins them.
type Union []Authorizer

// Authorize runs the chain.
func (u Union) Authorize(ctx context.Context, attrs Attributes) (Decision, string, error) {
	var reasons []string
	var errs []error
	for _, a := range u {
		d, reason, err := a.Authorize(ctx, attrs)
		if err != nil {
			errs = append(errs, err)
		}
		if reason != "" {
			reasons = append(reasons, reason)
		}
		if d == DecisionAllow || d == DecisionDeny {
			return d, reason, err
		}
	}
	return DecisionNoOpinion, strings.Join(reasons, "\n"), joinErrors(errs)
}

func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("[%s]", strings.Join(msgs, ", "))
}

// Privileged allows every request of a member of one of its groups
// (system:masters), before any other authorizer is asked: Kubernetes'
// privileged-group authorizer, which no RBAC change can lock out.
type Privileged []string

// Authorize allows members of the groups and has no opinion on others.
func (p Privileged) Authorize(_ context.Context, attrs Attributes) (Decision, string, error) {
	for _, g := range attrs.Groups {
		if slices.Contains(p, g) {
			return DecisionAllow, "", nil
		}
	}
	return DecisionNoOpinion, "", nil
}

// AlwaysAllow allows everything (--authorization-mode=AlwaysAllow).
var AlwaysAllow = Func(func(context.Context, Attributes) (Decision, string, error) {
	return DecisionAllow, "", nil
})
