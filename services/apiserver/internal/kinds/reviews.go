package kinds

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authenticationv1 "skiff.dev/api/authentication/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/registry"
)

// Review is a resource that is answered, never stored: a create returns
// the object with the server's answer in its status.
type Review struct {
	Resource *registry.Resource
	Backend  registry.Backend
}

// Reviews returns the review resources, in discovery order.
func Reviews() []Review {
	ssr := &registry.Resource{
		Group: "authentication.k8s.io", Version: "v1", Plural: "selfsubjectreviews", Singular: "selfsubjectreview",
		Kind: "SelfSubjectReview", Verbs: []string{"create"}, NoTable: true, New: newOf[authenticationv1.SelfSubjectReview](),
	}
	tr := &registry.Resource{
		Group: "authentication.k8s.io", Version: "v1", Plural: "tokenreviews", Singular: "tokenreview",
		Kind: "TokenReview", Verbs: []string{"create"}, NoTable: true, New: newOf[authenticationv1.TokenReview](),
	}
	return []Review{
		{Resource: ssr, Backend: selfSubjectReviews{createOnly{ssr}}},
		{Resource: tr, Backend: tokenReviews{createOnly: createOnly{tr}}},
	}
}

// selfSubjectReviews tells the caller who it was authenticated as
// (kubectl auth whoami).
type selfSubjectReviews struct{ createOnly }

func (selfSubjectReviews) Create(ctx context.Context, _ proto.Message, _ registry.CreateOptions) (proto.Message, error) {
	u, _ := auth.UserFrom(ctx)
	return &authenticationv1.SelfSubjectReview{
		Kind: "SelfSubjectReview", ApiVersion: "authentication.k8s.io/v1",
		Metadata: &metav1.ObjectMeta{CreationTimestamp: timestamppb.New(time.Now().Truncate(time.Second))},
		Status:   &authenticationv1.SelfSubjectReviewStatus{UserInfo: userInfo(u)},
	}, nil
}

// createOnly refuses every verb; a review overrides Create.
type createOnly struct{ res *registry.Resource }

func (c createOnly) refuse(verb string) error {
	return apierrors.NewMethodNotSupported(c.res.ErrorResource(), verb)
}

func (c createOnly) Create(context.Context, proto.Message, registry.CreateOptions) (proto.Message, error) {
	return nil, c.refuse("create")
}

func (c createOnly) Get(context.Context, string, string, registry.GetOptions) (proto.Message, error) {
	return nil, c.refuse("get")
}

func (c createOnly) List(context.Context, string, registry.ListOptions) (proto.Message, error) {
	return nil, c.refuse("list")
}

func (c createOnly) Watch(context.Context, string, registry.ListOptions) (registry.Watcher, error) {
	return nil, c.refuse("watch")
}

func (c createOnly) Update(context.Context, proto.Message, registry.UpdateOptions) (proto.Message, error) {
	return nil, c.refuse("update")
}

func (c createOnly) UpdateStatus(context.Context, proto.Message, registry.UpdateOptions) (proto.Message, error) {
	return nil, c.refuse("update")
}

func (c createOnly) Patch(context.Context, string, string, registry.Patch, registry.UpdateOptions) (proto.Message, error) {
	return nil, c.refuse("patch")
}

func (c createOnly) Delete(context.Context, string, string, *metav1.DeleteOptions) (proto.Message, error) {
	return nil, c.refuse("delete")
}
