// Package csrapproving approves kubelets' client certificate requests on
// their own, as Kubernetes' csrapproving controller does. A request to the
// kubernetes.io/kube-apiserver-client-kubelet signer that is a kubelet's
// client request (system:node:<name> in system:nodes, the client usages)
// is approved when a SubjectAccessReview says its requestor may create
// certificatesigningrequests/selfnodeclient (a node renewing its own
// certificate: the requestor is the subject) or
// certificatesigningrequests/nodeclient (a new node, with a bootstrap
// token). Requests it does not recognize are left to people (kubectl
// certificate approve); recognized ones whose requestor is not allowed
// are looked at again with back-off, so a binding made later still counts.
package csrapproving

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	authorizationv1 "skiff.dev/api/authorization/v1"
	certificatesv1 "skiff.dev/api/certificates/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csr"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers, Kubernetes'.
const Name = "csrapproving"

// Reviewer answers whether a user may do what a SubjectAccessReview asks.
type Reviewer func(ctx context.Context, review *authorizationv1.SubjectAccessReview) (allowed bool, err error)

// Controller approves; its keys are request names.
type Controller struct {
	*controller.Controller
	csrs     *informer.Informer[*certificatesv1.CertificateSigningRequest]
	client   *client.CertificateSigningRequestClient
	reviewer Reviewer
}

// New wires the controller to the shared informer; its writes and reviews
// go through c.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	ac := &Controller{
		csrs:     informers.For[*certificatesv1.CertificateSigningRequest, *certificatesv1.CertificateSigningRequestList](f),
		client:   c.CertificatesV1().CertificateSigningRequests(),
		reviewer: SubjectAccessReviews(c),
	}
	ac.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(ac.reconcile),
		Keys: func() []string { return names(ac.csrs) }}
	enqueue := func(r *certificatesv1.CertificateSigningRequest) { ac.Enqueue(r.GetMetadata().GetName()) }
	ac.csrs.AddHandler(informer.Handler[*certificatesv1.CertificateSigningRequest]{OnAdd: enqueue,
		OnUpdate: func(_, r *certificatesv1.CertificateSigningRequest) { enqueue(r) }})
	return ac
}

func names(csrs *informer.Informer[*certificatesv1.CertificateSigningRequest]) []string {
	var out []string
	for _, r := range csrs.Store().List() {
		out = append(out, r.GetMetadata().GetName())
	}
	return out
}

// recognizer is one kind of request the controller approves, and the
// permission its requestor needs.
type recognizer struct {
	subresource string
	recognize   func(r *certificatesv1.CertificateSigningRequest, req *x509Request) bool
	message     string
}

// recognizers are tried in order: a node's own renewal first.
var recognizers = []recognizer{
	{"selfnodeclient", func(r *certificatesv1.CertificateSigningRequest, req *x509Request) bool {
		return r.GetSpec().GetUsername() == req.CommonName && nodeClient(r, req)
	}, "Auto approving self kubelet client certificate after SubjectAccessReview."},
	{"nodeclient", nodeClient, "Auto approving kubelet client certificate after SubjectAccessReview."},
}

// x509Request is the part of a parsed request the recognizers read.
type x509Request struct {
	CommonName string
	valid      error
}

func nodeClient(r *certificatesv1.CertificateSigningRequest, req *x509Request) bool {
	return r.GetSpec().GetSignerName() == csr.KubeAPIServerClientKubelet && req.valid == nil
}

func (ac *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	r, ok := ac.csrs.Store().Get(name)
	if !ok || len(r.GetStatus().GetCertificate()) > 0 {
		return 0, nil
	}
	if approved, denied := csr.ApprovalOf(r); approved || denied {
		return 0, nil
	}
	message, err := Decide(ctx, r, ac.reviewer)
	if err != nil || message == "" {
		return 0, err
	}
	out := proto.Clone(r).(*certificatesv1.CertificateSigningRequest)
	if out.Status == nil {
		out.Status = &certificatesv1.CertificateSigningRequestStatus{}
	}
	out.Status.Conditions = append(out.Status.Conditions, &certificatesv1.CertificateSigningRequestCondition{
		Type: csr.Approved, Status: "True", Reason: "AutoApproved", Message: message,
	})
	if _, err := ac.client.UpdateApproval(ctx, out, client.WriteOptions{}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("error updating approval for csr %q: %w", name, err)
	}
	return 0, nil
}

// Decide says whether a pending request is approved: the approval's
// message, or "" for a request this controller does not recognize, or an
// error for one it recognizes whose requestor may not have it (to be
// looked at again) or that it cannot read.
func Decide(ctx context.Context, r *certificatesv1.CertificateSigningRequest, reviewer Reviewer) (string, error) {
	name := r.GetMetadata().GetName()
	parsed, err := csr.ParseRequest(r.GetSpec().GetRequest())
	if err != nil {
		return "", fmt.Errorf("unable to parse csr %q: %w", name, err)
	}
	req := &x509Request{CommonName: parsed.Subject.CommonName, valid: csr.ValidateKubeletClient(parsed, r.GetSpec().GetUsages())}
	var tried []string
	for _, rec := range recognizers {
		if !rec.recognize(r, req) {
			continue
		}
		tried = append(tried, rec.subresource)
		allowed, err := reviewer(ctx, review(r, rec.subresource))
		if err != nil {
			return "", fmt.Errorf("review the requestor of csr %q: %w", name, err)
		}
		if allowed {
			return rec.message, nil
		}
	}
	if len(tried) > 0 {
		return "", fmt.Errorf("recognized csr %q as %v but subject access review was not approved", name, tried)
	}
	return "", nil
}

// review asks whether the request's requestor may create
// certificatesigningrequests/<subresource>.
func review(r *certificatesv1.CertificateSigningRequest, subresource string) *authorizationv1.SubjectAccessReview {
	s := r.GetSpec()
	var extra map[string]*authorizationv1.ExtraValue
	if len(s.GetExtra()) > 0 {
		extra = map[string]*authorizationv1.ExtraValue{}
		for _, k := range slices.Sorted(maps.Keys(s.GetExtra())) {
			extra[k] = &authorizationv1.ExtraValue{Items: s.GetExtra()[k].GetItems()}
		}
	}
	return &authorizationv1.SubjectAccessReview{
		ApiVersion: "authorization.k8s.io/v1", Kind: "SubjectAccessReview",
		Spec: &authorizationv1.SubjectAccessReviewSpec{
			User: s.GetUsername(), Uid: s.GetUid(), Groups: s.GetGroups(), Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: "certificates.k8s.io", Version: "*",
				Resource: "certificatesigningrequests", Subresource: subresource, Verb: "create"},
		},
	}
}

// subjectAccessReviews is authorization.k8s.io/v1, which has no service of
// its own on the gRPC face: reviews go through the dynamic service.
var subjectAccessReviews = client.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"}

// SubjectAccessReviews asks the apiserver through c.
func SubjectAccessReviews(c *client.Client) Reviewer {
	return func(ctx context.Context, review *authorizationv1.SubjectAccessReview) (bool, error) {
		body, err := kjson.Marshal(review)
		if err != nil {
			return false, err
		}
		answer, err := c.Dynamic(subjectAccessReviews, "").Create(ctx, body, client.WriteOptions{})
		if err != nil {
			return false, err
		}
		out := &authorizationv1.SubjectAccessReview{}
		if err := kjson.Unmarshal(answer, out); err != nil {
			return false, fmt.Errorf("read the subject access review: %w", err)
		}
		return out.GetStatus().GetAllowed(), nil
	}
}
