package kinds

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	authorizationv1 "skiff.dev/api/authorization/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
)

const authorizationGroup = "authorization.k8s.io"

// privilegedGroup is allowed everything whatever the authorization
// configuration, as in Kubernetes, where its authorizer always comes first.
const privilegedGroup = "system:masters"

// notConfigured is the reason and evaluation error of a review that no
// authorizer answers.
const notConfigured = "no authorizer configured"

// AccessReviews returns the authorization.k8s.io/v1 reviews, in discovery
// order: the access reviews decided by authz and the rules review listed by
// rules. A nil authz or rules means no authorizer is configured: only the
// privileged group is known (allowed everything, listed as "*"), and every
// other question answers allowed=false with reason "no authorizer
// configured" (an incomplete list with that evaluation error for rules).
func AccessReviews(authz authorizer.Authorizer, rules authorizer.RuleResolver) []Review {
	if authz == nil {
		authz = authorizer.Union{authorizer.Privileged{privilegedGroup},
			authorizer.Func(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
				return authorizer.DecisionNoOpinion, notConfigured, nil
			})}
	}
	if rules == nil {
		rules = authorizer.RuleResolvers{authorizer.Privileged{privilegedGroup},
			authorizer.RulesFunc(func(context.Context, authorizer.UserInfo, string) ([]authorizer.ResourceRule, []authorizer.NonResourceRule, bool, error) {
				return nil, nil, true, errors.New(notConfigured)
			})}
	}
	review := func(plural, kind string, namespaced bool, newObj func() proto.Message) *registry.Resource {
		return &registry.Resource{
			Group: authorizationGroup, Version: "v1", Plural: plural, Singular: plural[:len(plural)-1], Kind: kind,
			Namespaced: namespaced, Verbs: []string{"create"}, NoTable: true, New: newObj,
		}
	}
	lsar := review("localsubjectaccessreviews", "LocalSubjectAccessReview", true, newOf[authorizationv1.LocalSubjectAccessReview]())
	ssar := review("selfsubjectaccessreviews", "SelfSubjectAccessReview", false, newOf[authorizationv1.SelfSubjectAccessReview]())
	ssrr := review("selfsubjectrulesreviews", "SelfSubjectRulesReview", false, newOf[authorizationv1.SelfSubjectRulesReview]())
	sar := review("subjectaccessreviews", "SubjectAccessReview", false, newOf[authorizationv1.SubjectAccessReview]())
	return []Review{
		{Resource: lsar, Backend: localSubjectAccessReviews{createOnly{lsar}, authz}},
		{Resource: ssar, Backend: selfSubjectAccessReviews{createOnly{ssar}, authz}},
		{Resource: ssrr, Backend: selfSubjectRulesReviews{createOnly{ssrr}, rules}},
		{Resource: sar, Backend: subjectAccessReviews{createOnly{sar}, authz}},
	}
}

// invalidReview is the 422 of a review that fails validation. Kubernetes
// names no kind in it: the review it validates is its internal object,
// whose kind is empty, so the message starts `.authorization.k8s.io "" is
// invalid`.
func invalidReview(errs field.ErrorList) error {
	return apierrors.NewInvalid(apierrors.Resource{Group: authorizationGroup}, "", errs)
}

// decide asks the authorizer and fills a status as Kubernetes does:
// allowed on Allow, denied on Deny, neither on NoOpinion, and the error,
// if any, as the evaluation error.
func decide(ctx context.Context, authz authorizer.Authorizer, attrs authorizer.Attributes) *authorizationv1.SubjectAccessReviewStatus {
	d, reason, err := authz.Authorize(ctx, attrs)
	status := &authorizationv1.SubjectAccessReviewStatus{
		Allowed: d == authorizer.DecisionAllow, Denied: d == authorizer.DecisionDeny, Reason: reason,
	}
	if err != nil {
		status.EvaluationError = err.Error()
	}
	return status
}

// attributesOf is the request a review asks about, made by the user;
// exactly one of ra and nra is set. A resource request without a version
// is about every version.
func attributesOf(user authorizer.Attributes, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizer.Attributes {
	attrs := user
	if ra == nil {
		attrs.Verb, attrs.Path = nra.GetVerb(), nra.GetPath()
		return attrs
	}
	attrs.ResourceRequest = true
	attrs.Verb, attrs.Namespace, attrs.APIGroup, attrs.APIVersion = ra.GetVerb(), ra.GetNamespace(), ra.GetGroup(), ra.GetVersion()
	attrs.Resource, attrs.Subresource, attrs.Name = ra.GetResource(), ra.GetSubresource(), ra.GetName()
	if attrs.APIVersion == "" {
		attrs.APIVersion = "*"
	}
	return attrs
}

// specUser is the user a SubjectAccessReviewSpec names.
func specUser(spec *authorizationv1.SubjectAccessReviewSpec) authorizer.Attributes {
	var extra map[string][]string
	if len(spec.GetExtra()) > 0 {
		extra = make(map[string][]string, len(spec.GetExtra()))
		for k, v := range spec.GetExtra() {
			extra[k] = v.GetItems()
		}
	}
	return authorizer.Attributes{User: spec.GetUser(), Groups: spec.GetGroups(), UID: spec.GetUid(), Extra: extra}
}

// requester is the authenticated user of the request, or Kubernetes'
// 400 when there is none.
func requester(ctx context.Context) (auth.User, error) {
	u, ok := auth.UserFrom(ctx)
	if !ok {
		return auth.User{}, apierrors.NewBadRequest("no user present on request")
	}
	return u, nil
}

// answered gives an answer the review's type and metadata, as Kubernetes'
// answers carry them.
func answered(meta **metav1.ObjectMeta, kind, apiVersion *string, k string) {
	if *meta == nil {
		*meta = &metav1.ObjectMeta{}
	}
	*kind, *apiVersion = k, authorizationGroup+"/v1"
}

// subjectAccessReviews answers whether spec.user (with spec.groups, uid
// and extra) may make the request the spec describes.
type subjectAccessReviews struct {
	createOnly
	authz authorizer.Authorizer
}

func (s subjectAccessReviews) Create(ctx context.Context, obj proto.Message, _ registry.CreateOptions) (proto.Message, error) {
	sar, ok := obj.(*authorizationv1.SubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SubjectAccessReview: %T", obj))
	}
	errs := validateSubjectAccessReviewSpec(sar.GetSpec())
	errs = append(errs, metadataEmpty(sar.GetMetadata(), false)...)
	if len(errs) > 0 {
		return nil, invalidReview(errs)
	}
	spec := sar.GetSpec()
	sar.Status = decide(ctx, s.authz, attributesOf(specUser(spec), spec.GetResourceAttributes(), spec.GetNonResourceAttributes()))
	answered(&sar.Metadata, &sar.Kind, &sar.ApiVersion, "SubjectAccessReview")
	return sar, nil
}

// selfSubjectAccessReviews answers whether the caller may make the
// request the spec describes (kubectl auth can-i).
type selfSubjectAccessReviews struct {
	createOnly
	authz authorizer.Authorizer
}

func (s selfSubjectAccessReviews) Create(ctx context.Context, obj proto.Message, _ registry.CreateOptions) (proto.Message, error) {
	ssar, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectAccessReview: %T", obj))
	}
	spec := ssar.GetSpec()
	errs := validateSelfSubjectAccessReviewSpec(spec)
	errs = append(errs, metadataEmpty(ssar.GetMetadata(), false)...)
	if len(errs) > 0 {
		return nil, invalidReview(errs)
	}
	u, err := requester(ctx)
	if err != nil {
		return nil, err
	}
	user := authorizer.Attributes{User: u.Name, Groups: u.Groups, UID: u.UID}
	ssar.Status = decide(ctx, s.authz, attributesOf(user, spec.GetResourceAttributes(), spec.GetNonResourceAttributes()))
	answered(&ssar.Metadata, &ssar.Kind, &ssar.ApiVersion, "SelfSubjectAccessReview")
	return ssar, nil
}

// localSubjectAccessReviews answers a SubjectAccessReview about the
// namespace the review is created in, so that a RoleBinding can grant the
// right to ask it.
type localSubjectAccessReviews struct {
	createOnly
	authz authorizer.Authorizer
}

func (s localSubjectAccessReviews) Create(ctx context.Context, obj proto.Message, _ registry.CreateOptions) (proto.Message, error) {
	lsar, ok := obj.(*authorizationv1.LocalSubjectAccessReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a LocalSubjectAccessReview: %T", obj))
	}
	spec, namespace := lsar.GetSpec(), lsar.GetMetadata().GetNamespace()
	errs := validateSubjectAccessReviewSpec(spec)
	errs = append(errs, metadataEmpty(lsar.GetMetadata(), true)...)
	errs = append(errs, validateLocal(spec, namespace)...)
	if len(errs) > 0 {
		return nil, invalidReview(errs)
	}
	// The REST face sets metadata.namespace to the request's (and refuses
	// another), so it is the request's namespace here.
	if namespace == "" {
		return nil, apierrors.NewBadRequest("namespace is required on this type: ")
	}
	lsar.Status = decide(ctx, s.authz, attributesOf(specUser(spec), spec.GetResourceAttributes(), nil))
	answered(&lsar.Metadata, &lsar.Kind, &lsar.ApiVersion, "LocalSubjectAccessReview")
	return lsar, nil
}
