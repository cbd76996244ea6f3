// Package csradmission holds the checks Kubernetes' certificates admission
// plugins make on CertificateSigningRequests, as registry write checks (so
// they hold for updates, every patch type and apply, on both faces):
//
//   - CertificateApproval: a write through approval needs, besides update of
//     certificatesigningrequests/approval, the approve verb on the request's
//     signer (resource signers of certificates.k8s.io, named by the
//     signerName or by its domain and "/*");
//   - CertificateSigning: a write through status that changes the
//     certificate or the conditions needs the sign verb on the signer;
//   - CertificateSubjectRestriction: a request to the
//     kubernetes.io/kube-apiserver-client signer may not ask for the
//     system:masters group.
//
// In-process writes, which carry no user, are not checked.
package csradmission

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	certificatesv1 "skiff.dev/api/certificates/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

// Group is the API group of the requests and of the signers resource.
const Group = "certificates.k8s.io"

// KubeAPIServerClientSigner signs client certificates the apiserver
// trusts for any user.
const KubeAPIServerClientSigner = "kubernetes.io/kube-apiserver-client"

// Checker makes the checks, asking Authorizer about the signers.
type Checker struct {
	Authorizer authorizer.Authorizer
}

// Check is the write check of the certificatesigningrequests store.
func (c *Checker) Check(ctx context.Context, w registry.Write) error {
	u, ok := auth.UserFrom(ctx)
	if !ok {
		return nil
	}
	csr, isCSR := w.Object.(*certificatesv1.CertificateSigningRequest)
	if !isCSR {
		return nil
	}
	if w.Old == nil {
		if w.Subresource == "" {
			return restrictSubject(csr)
		}
		return nil
	}
	old := w.Old.(*certificatesv1.CertificateSigningRequest)
	signer := old.GetSpec().GetSignerName()
	switch w.Subresource {
	case "approval":
		if !c.allowed(ctx, u, "approve", signer) {
			return forbidden(csr, fmt.Sprintf("user not permitted to approve requests with signerName %q", signer))
		}
	case "status":
		if bytes.Equal(csr.GetStatus().GetCertificate(), old.GetStatus().GetCertificate()) &&
			slices.EqualFunc(csr.GetStatus().GetConditions(), old.GetStatus().GetConditions(), func(a, b *certificatesv1.CertificateSigningRequestCondition) bool {
				return proto.Equal(a, b)
			}) {
			return nil
		}
		if !c.allowed(ctx, u, "sign", signer) {
			return forbidden(csr, fmt.Sprintf("user not permitted to sign requests with signerName %q", signer))
		}
	}
	return nil
}

// allowed asks whether the user may use verb on the signer, by its name
// or by its domain's wildcard ("example.com/*").
func (c *Checker) allowed(ctx context.Context, u auth.User, verb, signer string) bool {
	domain, _, _ := strings.Cut(signer, "/")
	for _, name := range []string{signer, domain + "/*"} {
		attrs := authorizer.ResourceRequest(verb, Group, "*", "signers", "", "", name)
		attrs.User, attrs.Groups, attrs.UID, attrs.Extra = u.Name, u.Groups, u.UID, u.Extra
		if d, _, _ := c.Authorizer.Authorize(ctx, attrs); d == authorizer.DecisionAllow {
			return true
		}
	}
	return false
}

// restrictSubject refuses a kube-apiserver-client request for a
// certificate in system:masters, which no approval should be able to give.
func restrictSubject(csr *certificatesv1.CertificateSigningRequest) error {
	if csr.GetSpec().GetSignerName() != KubeAPIServerClientSigner {
		return nil
	}
	req, err := validate.ParseCSR(csr.GetSpec().GetRequest())
	if err != nil {
		return forbidden(csr, fmt.Sprintf("failed to parse CSR: %v", err))
	}
	if slices.Contains(req.Subject.Organization, "system:masters") {
		return forbidden(csr, fmt.Sprintf("use of %s signer with system:masters group is not allowed", KubeAPIServerClientSigner))
	}
	return nil
}

func forbidden(csr *certificatesv1.CertificateSigningRequest, why string) error {
	return apierrors.NewForbidden(apierrors.Resource{Group: Group, Resource: "certificatesigningrequests"}, csr.GetMetadata().GetName(), why)
}
