package kinds

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/registry"
)

// TokenReviewer authenticates a bearer token for audiences, as the
// apiserver authenticates its own requests: matched are the audiences the
// token is good for; err, when not ok, why it was refused.
type TokenReviewer interface {
	ReviewToken(ctx context.Context, token string, audiences []string) (u auth.User, matched []string, ok bool, err error)
}

// ChainReviewer reviews tokens with the apiserver's token authenticators;
// a review that names no audiences is about the apiserver's own.
type ChainReviewer struct {
	Tokens       auth.Chain
	APIAudiences []string
}

// ReviewToken runs the chain.
func (r ChainReviewer) ReviewToken(ctx context.Context, token string, audiences []string) (auth.User, []string, bool, error) {
	if len(audiences) == 0 {
		audiences = r.APIAudiences
	}
	return r.Tokens.Review(ctx, token, audiences, r.APIAudiences)
}

// tokenReviews answers whose a token is. Until the apiserver gives it its
// authenticators (AnswerTokenReviews) it answers every review as
// Kubernetes does without an authenticator: unauthenticated.
type tokenReviews struct {
	createOnly
	reviewer TokenReviewer
}

// AnswerTokenReviews gives the tokenreviews backend the authenticators
// that answer: for API.Wrap("authentication.k8s.io", "tokenreviews", ...).
func AnswerTokenReviews(r TokenReviewer) func(registry.Backend) registry.Backend {
	return func(b registry.Backend) registry.Backend {
		t, ok := b.(tokenReviews)
		if !ok {
			return b
		}
		t.reviewer = r
		return t
	}
}

func (t tokenReviews) Create(ctx context.Context, obj proto.Message, _ registry.CreateOptions) (proto.Message, error) {
	tr, ok := obj.(*authenticationv1.TokenReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenReview: %T", obj))
	}
	if ns := tr.GetMetadata().GetNamespace(); ns != "" {
		return nil, apierrors.NewBadRequest("namespace is not allowed on this type: " + ns)
	}
	if tr.GetSpec().GetToken() == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	if tr.Metadata == nil {
		tr.Metadata = &metav1.ObjectMeta{}
	}
	tr.Kind, tr.ApiVersion = "TokenReview", "authentication.k8s.io/v1"
	status := &authenticationv1.TokenReviewStatus{User: &authenticationv1.UserInfo{}}
	tr.Status = status
	if t.reviewer == nil {
		return tr, nil
	}
	u, audiences, ok, err := t.reviewer.ReviewToken(ctx, tr.GetSpec().GetToken(), tr.GetSpec().GetAudiences())
	status.Authenticated = ok
	if !ok {
		status.Error = refusal(err)
		return tr, nil
	}
	status.User, status.Audiences = userInfo(u), audiences
	return tr, nil
}

// refusal is the status.error of a refused token as Kubernetes words it:
// "invalid bearer token" when no authenticator said why, the reason when
// one did, and the reasons in brackets when several did.
func refusal(err error) string {
	if err == nil {
		return "invalid bearer token"
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	if len(errs) < 2 {
		return err.Error()
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// userInfo is an authenticated user as the authentication reviews show it.
func userInfo(u auth.User) *authenticationv1.UserInfo {
	info := &authenticationv1.UserInfo{Username: u.Name, Uid: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		info.Extra = make(map[string]*authenticationv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			info.Extra[k] = &authenticationv1.ExtraValue{Items: v}
		}
	}
	return info
}
