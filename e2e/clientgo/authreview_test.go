package clientgo

import (
	"context"
	"reflect"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestAccessReviews: the authorization.k8s.io/v1 reviews written and read
// by Kubernetes' own types, in JSON and protobuf: every field of a spec
// comes back as sent (extra values and selectors included), the status
// as Kubernetes fills it, and validation fails as Kubernetes' does. The
// client is the admin, a member of system:masters.
func TestAccessReviews(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		az := cs.AuthorizationV1()

		attrs := &authorizationv1.ResourceAttributes{
			Namespace: "team", Verb: "list", Group: "apps", Version: "v1", Resource: "deployments", Subresource: "scale", Name: "web",
			FieldSelector: &authorizationv1.FieldSelectorAttributes{Requirements: []metav1.FieldSelectorRequirement{
				{Key: "metadata.name", Operator: metav1.FieldSelectorOpIn, Values: []string{"web"}}}},
			LabelSelector: &authorizationv1.LabelSelectorAttributes{RawSelector: "app=web"},
		}
		spec := authorizationv1.SubjectAccessReviewSpec{
			ResourceAttributes: attrs, User: "carol", UID: "carol-uid", Groups: []string{"system:masters", "dev"},
			Extra: map[string]authorizationv1.ExtraValue{"scopes": {"read", "write"}, "tenant": {"blue"}},
		}
		sar, err := az.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sar.Spec, spec) {
			t.Errorf("spec came back as\n %+v\nwant\n %+v", sar.Spec, spec)
		}
		if !sar.Status.Allowed || sar.Status.Denied {
			t.Errorf("status %+v, want allowed for system:masters", sar.Status)
		}

		// Someone outside system:masters is not allowed, whatever
		// authorizer the server has (none yet, or RBAC with no binding).
		alone := spec
		alone.Groups, alone.Extra = nil, nil
		sar, err = az.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: alone}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed {
			t.Errorf("status %+v, want not allowed", sar.Status)
		}

		ssar, err := az.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !ssar.Status.Allowed || ssar.Spec.NonResourceAttributes.Path != "/metrics" {
			t.Errorf("self review %+v", ssar)
		}

		lsar, err := az.LocalSubjectAccessReviews("team").Create(ctx, &authorizationv1.LocalSubjectAccessReview{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !lsar.Status.Allowed || lsar.Namespace != "team" {
			t.Errorf("local review %+v", lsar)
		}
		_, err = az.LocalSubjectAccessReviews("elsewhere").Create(ctx, &authorizationv1.LocalSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || err.Error() != `.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "team": must match metadata.namespace` {
			t.Errorf("a local review about another namespace: got %v, want 422", err)
		}

		ssrr, err := az.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
			Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "team"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		everything := authorizationv1.ResourceRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}
		everyPath := authorizationv1.NonResourceRule{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}
		found := [2]bool{}
		for _, r := range ssrr.Status.ResourceRules {
			found[0] = found[0] || reflect.DeepEqual(r, everything)
		}
		for _, r := range ssrr.Status.NonResourceRules {
			found[1] = found[1] || reflect.DeepEqual(r, everyPath)
		}
		if !found[0] || !found[1] {
			t.Errorf("rules %+v, want every resource and every path", ssrr.Status)
		}
		_, err = az.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{}, metav1.CreateOptions{})
		if !apierrors.IsBadRequest(err) || err.Error() != "no namespace on request" {
			t.Errorf("a rules review without a namespace: got %v, want 400", err)
		}
	})
}
