package kinds

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	authorizationv1 "skiff.dev/api/authorization/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

func rulesReview(namespace string) *authorizationv1.SelfSubjectRulesReview {
	return &authorizationv1.SelfSubjectRulesReview{Spec: &authorizationv1.SelfSubjectRulesReviewSpec{Namespace: namespace}}
}

func TestSelfSubjectRulesReview(t *testing.T) {
	var askedUser authorizer.UserInfo
	var askedNamespace string
	resolver := authorizer.RulesFunc(func(_ context.Context, u authorizer.UserInfo, ns string) ([]authorizer.ResourceRule, []authorizer.NonResourceRule, bool, error) {
		askedUser, askedNamespace = u, ns
		return []authorizer.ResourceRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"web"}}},
			[]authorizer.NonResourceRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			false, errors.New(`clusterrole.rbac.authorization.k8s.io "gone" not found`)
	})
	b := backendOf(t, AccessReviews(nil, resolver), "selfsubjectrulesreviews")
	out, err := b.Create(asBob, rulesReview("team"), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if askedUser.Name != "bob" || askedUser.UID != "bob-uid" || len(askedUser.Groups) != 2 || askedNamespace != "team" {
		t.Errorf("asked for %+v in %q", askedUser, askedNamespace)
	}
	want := &authorizationv1.SelfSubjectRulesReview{Kind: "SelfSubjectRulesReview", ApiVersion: "authorization.k8s.io/v1",
		Metadata: out.(*authorizationv1.SelfSubjectRulesReview).GetMetadata(), Spec: &authorizationv1.SelfSubjectRulesReviewSpec{},
		Status: &authorizationv1.SubjectRulesReviewStatus{
			ResourceRules:    []*authorizationv1.ResourceRule{{Verbs: []string{"get"}, ApiGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"web"}}},
			NonResourceRules: []*authorizationv1.NonResourceRule{{Verbs: []string{"get"}, NonResourceUrls: []string{"/healthz"}}},
			EvaluationError:  `clusterrole.rbac.authorization.k8s.io "gone" not found`,
		}}
	if !proto.Equal(out, want) {
		t.Errorf("got\n %v\nwant\n %v", out, want)
	}

	_, err = b.Create(asBob, rulesReview(""), registry.CreateOptions{})
	badRequest(t, err, "no namespace on request")
	_, err = b.Create(context.Background(), rulesReview("team"), registry.CreateOptions{})
	badRequest(t, err, "no user present on request")
}

// Without a resolver the privileged group is listed everything and the
// list is incomplete for everyone, in Kubernetes JSON.
func TestSelfSubjectRulesReviewWithoutResolver(t *testing.T) {
	b := backendOf(t, AccessReviews(nil, nil), "selfsubjectrulesreviews")
	for _, c := range []struct {
		user auth.User
		want string
	}{
		{admin, `{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{},"status":{` +
			`"resourceRules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}],"nonResourceRules":[{"verbs":["*"],"nonResourceURLs":["*"]}],` +
			`"incomplete":true,"evaluationError":"no authorizer configured"}}`},
		{bob, `{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{},"status":{` +
			`"resourceRules":[],"nonResourceRules":[],"incomplete":true,"evaluationError":"no authorizer configured"}}`},
	} {
		out, err := b.Create(auth.WithUser(context.Background(), c.user), rulesReview("default"), registry.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		js, err := kjson.Marshal(out)
		if err != nil || string(js) != c.want {
			t.Errorf("%s: got\n %s\nwant\n %s (%v)", c.user.Name, js, c.want, err)
		}
	}
}
