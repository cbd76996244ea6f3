package kinds

import (
	"context"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	certificatesv1 "skiff.dev/api/certificates/v1"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// certificateSigningRequests is certificates.k8s.io/v1
// CertificateSigningRequest: cluster-scoped, any path segment for a name,
// with the status subresource (the signer's certificate) and the approval
// subresource (an approver's conditions).
func certificateSigningRequests() *registry.Resource {
	return &registry.Resource{
		Group: "certificates.k8s.io", Version: "v1", Plural: "certificatesigningrequests", Singular: "certificatesigningrequest",
		Kind: "CertificateSigningRequest", ListKind: "CertificateSigningRequestList", ShortNames: []string{"csr"}, HasStatus: true,
		New: newOf[certificatesv1.CertificateSigningRequest](), NewList: newOf[certificatesv1.CertificateSigningRequestList](),
		Strategy: csrStrategy,
		// Kubernetes' strategies: the object's writes reset the spec and
		// status, status writes the spec and conditions, approval writes
		// the spec and certificate.
		Resets: map[string][]string{
			"":         {"spec", "status"},
			"status":   {"spec", "status.conditions"},
			"approval": {"spec", "status.certificate"},
		},
	}
}

// csrStrategy has Kubernetes' rules: the requestor is the user who
// creates the request; the spec never changes; a write of the object
// changes only its metadata, one through status cannot touch Approved or
// Denied, one through approval only the conditions; conditions get their
// times from the server when they come without.
var csrStrategy = registry.Strategy{
	PrepareForCreate:     setRequestor,
	PrepareForUpdate:     prepareCSRUpdate,
	ValidateCreate:       check(validate.ValidateCertificateSigningRequestCreate),
	ValidateUpdate:       checkUpdate(validate.ValidateCertificateSigningRequestUpdate),
	ValidateStatusUpdate: checkUpdate(validate.ValidateCertificateSigningRequestStatusUpdate),
	ValidatePartUpdate: func(_ string, obj, old proto.Message) field.ErrorList {
		return validate.ValidateCertificateSigningRequestApprovalUpdate(obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest))
	},
	// Kubernetes does not care what requests are called.
	NameValidation: validate.RBACName,
	FieldSet: fields(func(csr *certificatesv1.CertificateSigningRequest) map[string]string {
		return map[string]string{"spec.signerName": csr.GetSpec().GetSignerName()}
	}),
}

// setRequestor records who asks: whatever the client wrote in the
// requestor's fields is replaced by the authenticated user, or cleared for
// an in-process write.
func setRequestor(ctx context.Context, obj proto.Message) {
	csr := obj.(*certificatesv1.CertificateSigningRequest)
	if csr.Spec == nil {
		csr.Spec = &certificatesv1.CertificateSigningRequestSpec{}
	}
	s := csr.Spec
	s.Username, s.Uid, s.Groups, s.Extra = "", "", nil, nil
	u, ok := auth.UserFrom(ctx)
	if !ok {
		return
	}
	s.Username, s.Uid, s.Groups = u.Name, u.UID, slices.Clone(u.Groups)
	if len(u.Extra) > 0 {
		s.Extra = map[string]*certificatesv1.ExtraValue{}
		for _, k := range slices.Sorted(maps.Keys(u.Extra)) {
			s.Extra[k] = &certificatesv1.ExtraValue{Items: slices.Clone(u.Extra[k])}
		}
	}
}

// csrNow is the clock of the conditions' times.
var csrNow = time.Now

// prepareCSRUpdate keeps what each kind of write may not change, as
// Kubernetes' three strategies do.
func prepareCSRUpdate(subresource string, obj, old proto.Message) {
	csr, prev := obj.(*certificatesv1.CertificateSigningRequest), old.(*certificatesv1.CertificateSigningRequest)
	csr.Spec = proto.Clone(prev.GetSpec()).(*certificatesv1.CertificateSigningRequestSpec)
	switch subresource {
	case "status":
		// Approval is not the signer's to give: the Approved and Denied
		// conditions stay as stored (an added or removed one is refused by
		// validation).
		keepConditions(csr, prev, validate.CSRApproved)
		keepConditions(csr, prev, validate.CSRDenied)
		stampConditions(csr, prev)
	case "approval":
		stampConditions(csr, prev)
	}
}

// keepConditions puts back the stored conditions of type t when the new
// object has as many of them.
func keepConditions(csr, prev *certificatesv1.CertificateSigningRequest, t string) {
	var was, now []int
	for i, c := range prev.GetStatus().GetConditions() {
		if c.GetType() == t {
			was = append(was, i)
		}
	}
	for i, c := range csr.GetStatus().GetConditions() {
		if c.GetType() == t {
			now = append(now, i)
		}
	}
	if len(was) != len(now) {
		return
	}
	for i, j := range now {
		csr.Status.Conditions[j] = proto.Clone(prev.Status.Conditions[was[i]]).(*certificatesv1.CertificateSigningRequestCondition)
	}
}

// stampConditions gives a condition without a lastUpdateTime the current
// time, and one without a lastTransitionTime that of a stored condition of
// the same type and status, or the current time.
func stampConditions(csr, prev *certificatesv1.CertificateSigningRequest) {
	now := timestamppb.New(csrNow().Truncate(time.Second))
	for _, c := range csr.GetStatus().GetConditions() {
		if c.LastUpdateTime == nil {
			c.LastUpdateTime = now
		}
		if c.LastTransitionTime != nil {
			continue
		}
		c.LastTransitionTime = now
		for _, o := range prev.GetStatus().GetConditions() {
			if o.GetType() == c.GetType() && o.GetStatus() == c.GetStatus() && o.LastTransitionTime != nil {
				c.LastTransitionTime = o.LastTransitionTime
				break
			}
		}
	}
}
