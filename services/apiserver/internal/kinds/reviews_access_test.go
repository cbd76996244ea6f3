package kinds

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	authorizationv1 "skiff.dev/api/authorization/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

// fakeAuthorizer answers with its decision and records what it was asked.
type fakeAuthorizer struct {
	decision authorizer.Decision
	reason   string
	err      error
	asked    *authorizer.Attributes
}

func (f fakeAuthorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	*f.asked = attrs
	return f.decision, f.reason, f.err
}

func backendOf(t *testing.T, reviews []Review, plural string) registry.Backend {
	t.Helper()
	for _, r := range reviews {
		if r.Resource.Plural == plural {
			return r.Backend
		}
	}
	t.Fatalf("no %s among the reviews", plural)
	return nil
}

var (
	bob      = auth.User{Name: "bob", UID: "bob-uid", Groups: []string{"dev", "system:authenticated"}}
	admin    = auth.User{Name: "skiff-admin", UID: "skiff-admin", Groups: []string{"system:masters"}}
	podLogs  = &authorizationv1.ResourceAttributes{Namespace: "team", Verb: "get", Resource: "pods", Subresource: "log", Name: "web"}
	healthz  = &authorizationv1.NonResourceAttributes{Path: "/healthz", Verb: "get"}
	asBob    = auth.WithUser(context.Background(), bob)
	noneSaid = &authorizer.Attributes{}
)

func TestAccessReviewsServeCreateOnly(t *testing.T) {
	reviews := AccessReviews(nil, nil)
	var got []string
	for _, r := range reviews {
		res := r.Resource
		got = append(got, res.Plural)
		if res.Group != "authorization.k8s.io" || res.Version != "v1" || !reflect.DeepEqual(res.Verbs, []string{"create"}) || !res.NoTable {
			t.Errorf("%s: %+v, want authorization.k8s.io/v1, create only, no table", res.Plural, res)
		}
		if res.Namespaced != (res.Kind == "LocalSubjectAccessReview") {
			t.Errorf("%s: namespaced %v", res.Plural, res.Namespaced)
		}
		if res.Singular+"s" != res.Plural || string(res.New().ProtoReflect().Descriptor().Name()) != res.Kind {
			t.Errorf("%s: singular %q, message %s", res.Plural, res.Singular, res.New().ProtoReflect().Descriptor().FullName())
		}
		if _, err := r.Backend.Get(context.Background(), "", "x", registry.GetOptions{}); err == nil {
			t.Errorf("%s: get answered", res.Plural)
		}
	}
	want := []string{"localsubjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSubjectAccessReview(t *testing.T) {
	resourceAsked := authorizer.Attributes{
		User: "alice", Groups: []string{"dev"}, UID: "alice-uid", Extra: map[string][]string{"scopes": {"a", "b"}},
		Verb: "get", ResourceRequest: true, Namespace: "team", APIVersion: "*", Resource: "pods", Subresource: "log", Name: "web",
	}
	for _, c := range []struct {
		name       string
		decision   authorizer.Decision
		reason     string
		err        error
		nonRes     bool
		wantStatus *authorizationv1.SubjectAccessReviewStatus
		wantAsked  authorizer.Attributes
	}{
		{name: "allowed", decision: authorizer.DecisionAllow, reason: "RBAC: allowed by x",
			wantStatus: &authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "RBAC: allowed by x"}, wantAsked: resourceAsked},
		{name: "denied", decision: authorizer.DecisionDeny, reason: "no",
			wantStatus: &authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "no"}, wantAsked: resourceAsked},
		{name: "no opinion", decision: authorizer.DecisionNoOpinion,
			wantStatus: &authorizationv1.SubjectAccessReviewStatus{}, wantAsked: resourceAsked},
		{name: "error", decision: authorizer.DecisionNoOpinion, reason: "RBAC: x", err: errors.New("webhook unreachable"),
			wantStatus: &authorizationv1.SubjectAccessReviewStatus{Reason: "RBAC: x", EvaluationError: "webhook unreachable"}, wantAsked: resourceAsked},
		{name: "allowed despite an error", decision: authorizer.DecisionAllow, err: errors.New("role missing"),
			wantStatus: &authorizationv1.SubjectAccessReviewStatus{Allowed: true, EvaluationError: "role missing"}, wantAsked: resourceAsked},
		{name: "a path", decision: authorizer.DecisionAllow, nonRes: true,
			wantStatus: &authorizationv1.SubjectAccessReviewStatus{Allowed: true},
			wantAsked: authorizer.Attributes{User: "alice", Groups: []string{"dev"}, UID: "alice-uid",
				Extra: map[string][]string{"scopes": {"a", "b"}}, Verb: "get", Path: "/healthz"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var asked authorizer.Attributes
			b := backendOf(t, AccessReviews(fakeAuthorizer{c.decision, c.reason, c.err, &asked}, nil), "subjectaccessreviews")
			spec := &authorizationv1.SubjectAccessReviewSpec{User: "alice", Groups: []string{"dev"}, Uid: "alice-uid",
				Extra: map[string]*authorizationv1.ExtraValue{"scopes": {Items: []string{"a", "b"}}}}
			if c.nonRes {
				spec.NonResourceAttributes = healthz
			} else {
				spec.ResourceAttributes = podLogs
			}
			out, err := b.Create(asBob, &authorizationv1.SubjectAccessReview{Spec: spec}, registry.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sar := out.(*authorizationv1.SubjectAccessReview)
			if !proto.Equal(sar.GetStatus(), c.wantStatus) {
				t.Errorf("status %v, want %v", sar.GetStatus(), c.wantStatus)
			}
			if !reflect.DeepEqual(asked, c.wantAsked) {
				t.Errorf("asked\n %+v\nwant\n %+v", asked, c.wantAsked)
			}
			if sar.GetKind() != "SubjectAccessReview" || sar.GetApiVersion() != "authorization.k8s.io/v1" || !proto.Equal(sar.GetSpec(), spec) {
				t.Errorf("answer %v, want the review with its type", sar)
			}
		})
	}
}

// invalid checks that err is Kubernetes' 422 of a review with these
// messages, one cause per field.
func invalid(t *testing.T, err error, wantMessage string, wantFields ...string) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a 422", err)
	}
	st := se.Status
	if st.GetCode() != 422 || st.GetReason() != "Invalid" || st.GetMessage() != wantMessage {
		t.Errorf("got %d %s %q\nwant 422 Invalid %q", st.GetCode(), st.GetReason(), st.GetMessage(), wantMessage)
	}
	var fields []string
	for _, c := range st.GetDetails().GetCauses() {
		fields = append(fields, c.GetField())
	}
	if !reflect.DeepEqual(fields, wantFields) || st.GetDetails().GetGroup() != "authorization.k8s.io" || st.GetDetails().GetKind() != "" {
		t.Errorf("details %v, want causes at %v", st.GetDetails(), wantFields)
	}
}

func badRequest(t *testing.T, err error, want string) {
	t.Helper()
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.Status.GetCode() != 400 || se.Status.GetMessage() != want {
		t.Errorf("got %v, want 400 %q", err, want)
	}
}

func TestSubjectAccessReviewValidation(t *testing.T) {
	b := backendOf(t, AccessReviews(fakeAuthorizer{asked: noneSaid}, nil), "subjectaccessreviews")
	for _, c := range []struct {
		name    string
		sar     *authorizationv1.SubjectAccessReview
		message string
		fields  []string
	}{
		{"empty", &authorizationv1.SubjectAccessReview{},
			`.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: "": at least one of user or group must be specified]`,
			[]string{"spec.resourceAttributes", "spec.user"}},
		{"both attribute sets", &authorizationv1.SubjectAccessReview{Spec: &authorizationv1.SubjectAccessReviewSpec{
			Groups: []string{"dev"}, ResourceAttributes: podLogs, NonResourceAttributes: healthz}},
			`.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: {"Path":"/healthz","Verb":"get"}: cannot be specified in combination with resourceAttributes`,
			[]string{"spec.nonResourceAttributes"}},
		{"metadata", &authorizationv1.SubjectAccessReview{Metadata: &metav1.ObjectMeta{Name: "x", Labels: map[string]string{"a": "b"}},
			Spec: &authorizationv1.SubjectAccessReviewSpec{User: "alice", NonResourceAttributes: healthz}},
			`.authorization.k8s.io "" is invalid: metadata: Invalid value: {"name":"x","labels":{"a":"b"}}: must be empty`,
			[]string{"metadata"}},
		{"empty field selector", &authorizationv1.SubjectAccessReview{Spec: &authorizationv1.SubjectAccessReviewSpec{User: "alice",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods", FieldSelector: &authorizationv1.FieldSelectorAttributes{}}}},
			`.authorization.k8s.io "" is invalid: spec.resourceAttributes.fieldSelector.requirements: Required value: when spec.resourceAttributes.fieldSelector is specified, requirements or rawSelector is required`,
			[]string{"spec.resourceAttributes.fieldSelector.requirements"}},
		{"selectors raw and parsed, or badly", &authorizationv1.SubjectAccessReview{Spec: &authorizationv1.SubjectAccessReviewSpec{User: "alice",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods",
				FieldSelector: &authorizationv1.FieldSelectorAttributes{Requirements: []*metav1.FieldSelectorRequirement{
					{Key: "", Operator: "Exists", Values: []string{"x"}}, {Key: "spec.nodeName", Operator: "Near"}}},
				LabelSelector: &authorizationv1.LabelSelectorAttributes{RawSelector: "a=b", Requirements: []*metav1.LabelSelectorRequirement{
					{Key: "app", Operator: "In"}}},
			}}},
			`.authorization.k8s.io "" is invalid: [spec.resourceAttributes.fieldSelector.requirements[0].key: Required value: must be specified, ` +
				`spec.resourceAttributes.fieldSelector.requirements[0].values: Forbidden: may not be specified when ` + "`operator`" + ` is 'Exists' or 'DoesNotExist', ` +
				`spec.resourceAttributes.labelSelector.rawSelector: Invalid value: "a=b": may not specified at the same time as requirements, ` +
				`spec.resourceAttributes.labelSelector.requirements[0].values: Required value: must be specified when ` + "`operator`" + ` is 'In' or 'NotIn']`,
			[]string{"spec.resourceAttributes.fieldSelector.requirements[0].key", "spec.resourceAttributes.fieldSelector.requirements[0].values",
				"spec.resourceAttributes.labelSelector.rawSelector", "spec.resourceAttributes.labelSelector.requirements[0].values"}},
		{"no user, and a selector", &authorizationv1.SubjectAccessReview{Spec: &authorizationv1.SubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods", LabelSelector: &authorizationv1.LabelSelectorAttributes{}}}},
			`.authorization.k8s.io "" is invalid: [spec.user: Invalid value: "": at least one of user or group must be specified, ` +
				`spec.resourceAttributes.labelSelector.requirements: Required value: when spec.resourceAttributes.labelSelector is specified, requirements or rawSelector is required]`,
			[]string{"spec.user", "spec.resourceAttributes.labelSelector.requirements"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Create(asBob, c.sar, registry.CreateOptions{})
			invalid(t, err, c.message, c.fields...)
		})
	}
}

func TestSelfSubjectAccessReview(t *testing.T) {
	var asked authorizer.Attributes
	b := backendOf(t, AccessReviews(fakeAuthorizer{authorizer.DecisionAllow, "ok", nil, &asked}, nil), "selfsubjectaccessreviews")
	review := &authorizationv1.SelfSubjectAccessReview{Spec: &authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: podLogs}}
	out, err := b.Create(asBob, review, registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := authorizer.Attributes{User: "bob", Groups: bob.Groups, UID: "bob-uid",
		Verb: "get", ResourceRequest: true, Namespace: "team", APIVersion: "*", Resource: "pods", Subresource: "log", Name: "web"}
	if !reflect.DeepEqual(asked, want) {
		t.Errorf("asked\n %+v\nwant\n %+v", asked, want)
	}
	ssar := out.(*authorizationv1.SelfSubjectAccessReview)
	if !ssar.GetStatus().GetAllowed() || ssar.GetStatus().GetReason() != "ok" || ssar.GetKind() != "SelfSubjectAccessReview" {
		t.Errorf("answer %v", ssar)
	}
	// Kubernetes JSON: allowed is always written, the spec too.
	js, err := kjson.Marshal(&authorizationv1.SelfSubjectAccessReview{Kind: "SelfSubjectAccessReview", ApiVersion: "authorization.k8s.io/v1",
		Metadata: &metav1.ObjectMeta{}, Status: &authorizationv1.SubjectAccessReviewStatus{}})
	if err != nil || string(js) != `{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{},"status":{"allowed":false}}` {
		t.Errorf("JSON %s, %v", js, err)
	}

	_, err = b.Create(context.Background(), review, registry.CreateOptions{})
	badRequest(t, err, "no user present on request")

	// Validation comes first, and the spec has no user to set.
	_, err = b.Create(context.Background(), &authorizationv1.SelfSubjectAccessReview{Metadata: &metav1.ObjectMeta{GenerateName: "x-"}}, registry.CreateOptions{})
	invalid(t, err, `.authorization.k8s.io "" is invalid: [spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, metadata: Invalid value: {"generateName":"x-"}: must be empty]`,
		"spec.resourceAttributes", "metadata")
}

func TestLocalSubjectAccessReview(t *testing.T) {
	var asked authorizer.Attributes
	b := backendOf(t, AccessReviews(fakeAuthorizer{authorizer.DecisionDeny, "not here", nil, &asked}, nil), "localsubjectaccessreviews")
	local := func(meta *metav1.ObjectMeta, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) *authorizationv1.LocalSubjectAccessReview {
		return &authorizationv1.LocalSubjectAccessReview{Metadata: meta,
			Spec: &authorizationv1.SubjectAccessReviewSpec{User: "alice", ResourceAttributes: ra, NonResourceAttributes: nra}}
	}
	inTeam := &metav1.ObjectMeta{Namespace: "team"}

	out, err := b.Create(asBob, local(inTeam, podLogs, nil), registry.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lsar := out.(*authorizationv1.LocalSubjectAccessReview)
	if st := lsar.GetStatus(); st.GetAllowed() || !st.GetDenied() || st.GetReason() != "not here" || lsar.GetMetadata().GetNamespace() != "team" {
		t.Errorf("answer %v", lsar)
	}
	if asked.User != "alice" || asked.Namespace != "team" || !asked.ResourceRequest {
		t.Errorf("asked %+v", asked)
	}

	for _, c := range []struct {
		name    string
		lsar    *authorizationv1.LocalSubjectAccessReview
		message string
		fields  []string
	}{
		// Kubernetes does not default the attributes' namespace.
		{"no namespace in the attributes", local(inTeam, &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}, nil),
			`.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "": must match metadata.namespace`,
			[]string{"spec.resourceAttributes.namespace"}},
		{"another namespace", local(inTeam, &authorizationv1.ResourceAttributes{Namespace: "other", Verb: "list", Resource: "pods"}, nil),
			`.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "other": must match metadata.namespace`,
			[]string{"spec.resourceAttributes.namespace"}},
		{"a path", local(inTeam, nil, healthz),
			`.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: {"Path":"/healthz","Verb":"get"}: disallowed on this kind of request`,
			[]string{"spec.nonResourceAttributes"}},
		{"a name", local(&metav1.ObjectMeta{Name: "x", Namespace: "team"}, podLogs, nil),
			`.authorization.k8s.io "" is invalid: metadata: Invalid value: {"name":"x","namespace":"team"}: must be empty except for namespace`,
			[]string{"metadata"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Create(asBob, c.lsar, registry.CreateOptions{})
			invalid(t, err, c.message, c.fields...)
		})
	}

	_, err = b.Create(asBob, local(nil, &authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}, nil), registry.CreateOptions{})
	badRequest(t, err, "namespace is required on this type: ")
}

// Without an authorizer, only the privileged group is allowed anything.
func TestAccessReviewsWithoutAuthorizer(t *testing.T) {
	b := backendOf(t, AccessReviews(nil, nil), "selfsubjectaccessreviews")
	ask := func(u auth.User) *authorizationv1.SubjectAccessReviewStatus {
		out, err := b.Create(auth.WithUser(context.Background(), u), &authorizationv1.SelfSubjectAccessReview{
			Spec: &authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: podLogs}}, registry.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out.(*authorizationv1.SelfSubjectAccessReview).GetStatus()
	}
	if st := ask(admin); !st.GetAllowed() {
		t.Errorf("system:masters: %v, want allowed", st)
	}
	if st := ask(bob); st.GetAllowed() || st.GetDenied() || st.GetReason() != "no authorizer configured" {
		t.Errorf("bob: %v, want not allowed, no authorizer configured", st)
	}
}
