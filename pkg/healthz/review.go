package healthz

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	authorizationv1 "skiff.dev/api/authorization/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/kjson"
)

// reviewTimeout bounds one review, as Kubernetes' delegating
// authenticator and authorizer bound theirs.
const reviewTimeout = 10 * time.Second

var (
	tokenReviews         = client.GroupVersionResource{Group: "authentication.k8s.io", Version: "v1", Resource: "tokenreviews"}
	subjectAccessReviews = client.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"}
)

// ClientReviewer asks the apiserver through c, as c's user: a component
// reviews with its own identity, which needs create of tokenreviews and
// subjectaccessreviews (system:auth-delegator).
func ClientReviewer(c *client.Client) Reviewer { return clientReviewer{c} }

type clientReviewer struct{ c *client.Client }

func (r clientReviewer) ReviewToken(ctx context.Context, token string) (User, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	var answer authenticationv1.TokenReview
	if err := r.create(ctx, tokenReviews, &authenticationv1.TokenReview{
		Kind: "TokenReview", ApiVersion: "authentication.k8s.io/v1",
		Spec: &authenticationv1.TokenReviewSpec{Token: token},
	}, &answer); err != nil {
		return User{}, false, err
	}
	st := answer.GetStatus()
	if !st.GetAuthenticated() {
		var err error
		if st.GetError() != "" {
			err = errors.New(st.GetError())
		}
		return User{}, false, err
	}
	u := User{Name: st.GetUser().GetUsername(), UID: st.GetUser().GetUid(), Groups: st.GetUser().GetGroups()}
	if extra := st.GetUser().GetExtra(); len(extra) > 0 {
		u.Extra = make(map[string][]string, len(extra))
		for k, v := range extra {
			u.Extra[k] = v.GetItems()
		}
	}
	return u, true, nil
}

func (r clientReviewer) Authorize(ctx context.Context, u User, a Attributes) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	spec := &authorizationv1.SubjectAccessReviewSpec{User: u.Name, Uid: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		spec.Extra = make(map[string]*authorizationv1.ExtraValue, len(u.Extra))
		for _, k := range slices.Sorted(maps.Keys(u.Extra)) {
			spec.Extra[k] = &authorizationv1.ExtraValue{Items: u.Extra[k]}
		}
	}
	if a.ResourceRequest {
		spec.ResourceAttributes = &authorizationv1.ResourceAttributes{Verb: a.Verb, Group: a.APIGroup, Version: a.APIVersion,
			Resource: a.Resource, Subresource: a.Subresource, Name: a.Name}
	} else {
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: a.Path, Verb: a.Verb}
	}
	var answer authorizationv1.SubjectAccessReview
	if err := r.create(ctx, subjectAccessReviews, &authorizationv1.SubjectAccessReview{
		Kind: "SubjectAccessReview", ApiVersion: "authorization.k8s.io/v1", Spec: spec,
	}, &answer); err != nil {
		return false, "", err
	}
	st := answer.GetStatus()
	return st.GetAllowed() && !st.GetDenied(), st.GetReason(), nil
}

// create sends a review and reads the answer. The reviews have no gRPC
// service of their own: they go through the dynamic one, as JSON.
func (r clientReviewer) create(ctx context.Context, gvr client.GroupVersionResource, review, answer proto.Message) error {
	body, err := kjson.Marshal(review)
	if err != nil {
		return err
	}
	out, err := r.c.Dynamic(gvr, "").Create(ctx, body, client.WriteOptions{})
	if err != nil {
		return fmt.Errorf("create a %s: %w", gvr.Resource, err)
	}
	if err := kjson.Unmarshal(out, answer); err != nil {
		return fmt.Errorf("read the %s: %w", gvr.Resource, err)
	}
	return nil
}
