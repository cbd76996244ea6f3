package kinds

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	authorizationv1 "skiff.dev/api/authorization/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

// selfSubjectRulesReviews lists what the caller may do in spec.namespace
// (kubectl auth can-i --list).
type selfSubjectRulesReviews struct {
	createOnly
	rules authorizer.RuleResolver
}

// Create answers as Kubernetes does: a new review holding only the status
// (the spec is not echoed), with the resolvers' error as the evaluation
// error beside the rules they could list.
func (s selfSubjectRulesReviews) Create(ctx context.Context, obj proto.Message, _ registry.CreateOptions) (proto.Message, error) {
	ssrr, ok := obj.(*authorizationv1.SelfSubjectRulesReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectRulesReview: %T", obj))
	}
	u, err := requester(ctx)
	if err != nil {
		return nil, err
	}
	namespace := ssrr.GetSpec().GetNamespace()
	if namespace == "" {
		return nil, apierrors.NewBadRequest("no namespace on request")
	}
	user := authorizer.UserInfo{Name: u.Name, UID: u.UID, Groups: u.Groups}
	resourceRules, nonResourceRules, incomplete, err := s.rules.RulesFor(ctx, user, namespace)
	status := &authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete}
	for _, r := range resourceRules {
		status.ResourceRules = append(status.ResourceRules, &authorizationv1.ResourceRule{
			Verbs: r.Verbs, ApiGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames,
		})
	}
	for _, r := range nonResourceRules {
		status.NonResourceRules = append(status.NonResourceRules, &authorizationv1.NonResourceRule{
			Verbs: r.Verbs, NonResourceUrls: r.NonResourceURLs,
		})
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return &authorizationv1.SelfSubjectRulesReview{
		Kind: "SelfSubjectRulesReview", ApiVersion: authorizationGroup + "/v1",
		Metadata: &metav1.ObjectMeta{}, Spec: &authorizationv1.SelfSubjectRulesReviewSpec{}, Status: status,
	}, nil
}
