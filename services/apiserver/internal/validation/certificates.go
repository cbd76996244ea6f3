package validation

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	certificatesv1 "skiff.dev/api/certificates/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// The condition types of a CertificateSigningRequest that carry a meaning
// of their own; each may only be True.
const (
	CSRApproved = "Approved"
	CSRDenied   = "Denied"
	CSRFailed   = "Failed"
)

// LegacyUnknownSignerName is the signer of certificates.k8s.io/v1beta1
// requests that named none; v1 refuses it.
const LegacyUnknownSignerName = "kubernetes.io/legacy-unknown"

// KeyUsages are the usages a request may ask for, Kubernetes' KeyUsage
// values, sorted as the "supported values" of its message.
var KeyUsages = []string{
	"any", "cert sign", "client auth", "code signing", "content commitment", "crl sign",
	"data encipherment", "decipher only", "digital signature", "email protection",
	"encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
	"key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime",
	"server auth", "signing", "timestamping",
}

// ParseCSR reads the PKCS#10 request of a PEM "CERTIFICATE REQUEST" block.
func ParseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

// csrOptions say what a write may do (by the subresource it goes
// through) and which flaws it may keep because the stored object already
// had them, as Kubernetes tolerates them for compatibility.
type csrOptions struct {
	setApproval    bool // approval: add Approved or Denied
	setCertificate bool // status: write status.certificate
	// tolerated in an update when the stored object has them
	bothApprovedAndDenied, legacySigner, duplicateConditions, emptyConditionType,
	arbitraryCertificate, unknownUsages, duplicateUsages bool
}

// optionsFor derives the tolerated flaws from the stored object (nil on
// create).
func optionsFor(csr, old *certificatesv1.CertificateSigningRequest) csrOptions {
	if old == nil {
		return csrOptions{}
	}
	conds := old.GetStatus().GetConditions()
	types := make([]string, len(conds))
	for i, c := range conds {
		types[i] = c.GetType()
	}
	usages := old.GetSpec().GetUsages()
	return csrOptions{
		bothApprovedAndDenied: slices.Contains(types, CSRApproved) && slices.Contains(types, CSRDenied),
		legacySigner:          old.GetSpec().GetSignerName() == LegacyUnknownSignerName,
		duplicateConditions:   hasDuplicates(types),
		emptyConditionType:    slices.Contains(types, ""),
		arbitraryCertificate: bytes.Equal(csr.GetStatus().GetCertificate(), old.GetStatus().GetCertificate()) ||
			validateCertificate(old.GetStatus().GetCertificate()) != nil,
		unknownUsages:   slices.ContainsFunc(usages, func(u string) bool { return !slices.Contains(KeyUsages, u) }),
		duplicateUsages: hasDuplicates(usages),
	}
}

func hasDuplicates(list []string) bool {
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			return true
		}
		seen[s] = true
	}
	return false
}

// ValidateCertificateSigningRequestCreate checks a new request: its PKCS#10
// request parses and is signed by its key, its usages, its signer's name,
// its requested lifetime, and its (server-cleared) status.
func ValidateCertificateSigningRequestCreate(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return validateCSR(csr, csrOptions{})
}

// ValidateCertificateSigningRequestUpdate checks a write of the object
// itself, which may change neither the conditions nor the certificate.
func ValidateCertificateSigningRequestUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return validateCSRUpdate(csr, old, optionsFor(csr, old))
}

// ValidateCertificateSigningRequestStatusUpdate checks a write through
// status, which may set the certificate once and add conditions other than
// Approved and Denied.
func ValidateCertificateSigningRequestStatusUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	opts := optionsFor(csr, old)
	opts.setCertificate = true
	return validateCSRUpdate(csr, old, opts)
}

// ValidateCertificateSigningRequestApprovalUpdate checks a write through
// approval, which may add Approved or Denied (never both, never removing
// one).
func ValidateCertificateSigningRequestApprovalUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	opts := optionsFor(csr, old)
	opts.setApproval = true
	return validateCSRUpdate(csr, old, opts)
}

func validateCSR(csr *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	var errs field.ErrorList
	spec := csr.GetSpec()
	sp := field.NewPath("spec")
	if err := checkRequest(spec.GetRequest()); err != nil {
		errs = append(errs, field.Invalid(sp.Child("request"), base64.StdEncoding.EncodeToString(spec.GetRequest()), err.Error()))
	}
	usages := spec.GetUsages()
	if len(usages) == 0 {
		errs = append(errs, field.Required(sp.Child("usages"), ""))
	}
	if !opts.unknownUsages {
		for i, u := range usages {
			if !slices.Contains(KeyUsages, u) {
				errs = append(errs, field.NotSupported(sp.Child("usages").Index(i), u, KeyUsages))
			}
		}
	}
	if !opts.duplicateUsages {
		seen := map[string]bool{}
		for i, u := range usages {
			if seen[u] {
				errs = append(errs, field.Duplicate(sp.Child("usages").Index(i), u))
			}
			seen[u] = true
		}
	}
	if !opts.legacySigner && spec.GetSignerName() == LegacyUnknownSignerName {
		errs = append(errs, field.Invalid(sp.Child("signerName"), spec.GetSignerName(), "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, SignerName(sp.Child("signerName"), spec.GetSignerName())...)
	}
	if spec.ExpirationSeconds != nil && spec.GetExpirationSeconds() < 600 {
		errs = append(errs, field.Invalid(sp.Child("expirationSeconds"), spec.GetExpirationSeconds(), "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	errs = append(errs, csrConditions(field.NewPath("status", "conditions"), csr.GetStatus().GetConditions(), opts)...)
	if !opts.arbitraryCertificate {
		if err := validateCertificate(csr.GetStatus().GetCertificate()); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("status", "certificate"), "<certificate data>", err.Error()))
		}
	}
	return errs
}

// checkRequest parses a request and checks its signature.
func checkRequest(pemBytes []byte) error {
	req, err := ParseCSR(pemBytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// validateCertificate accepts nothing, or PEM CERTIFICATE blocks without
// headers that each hold a certificate.
func validateCertificate(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	blocks := 0
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		blocks++
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return errors.New("found CERTIFICATE PEM block containing 0 certificates")
		}
		data = rest
	}
	if blocks == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

// csrConditions: every condition has a type and a status (only True for
// Approved, Denied and Failed), each type once, never both Approved and
// Denied.
func csrConditions(p *field.Path, conds []*certificatesv1.CertificateSigningRequestCondition, opts csrOptions) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	approved, denied := false, false
	for i, c := range conds {
		if !opts.emptyConditionType && c.GetType() == "" {
			errs = append(errs, field.Required(p.Index(i).Child("type"), ""))
		}
		allowed := []string{"False", "True", "Unknown"}
		if c.GetType() == CSRApproved || c.GetType() == CSRDenied || c.GetType() == CSRFailed {
			allowed = []string{"True"}
		}
		switch {
		case c.GetStatus() == "":
			errs = append(errs, field.Required(p.Index(i).Child("status"), ""))
		case !slices.Contains(allowed, c.GetStatus()):
			errs = append(errs, field.NotSupported(p.Index(i).Child("status"), c.GetStatus(), allowed))
		}
		if !opts.bothApprovedAndDenied {
			switch c.GetType() {
			case CSRApproved:
				approved = true
				if denied {
					errs = append(errs, field.Invalid(p, c.GetType(), "Approved and Denied conditions are mutually exclusive"))
				}
			case CSRDenied:
				denied = true
				if approved {
					errs = append(errs, field.Invalid(p, c.GetType(), "Approved and Denied conditions are mutually exclusive"))
				}
			}
		}
		if !opts.duplicateConditions {
			if seen[c.GetType()] {
				errs = append(errs, field.Duplicate(p.Index(i).Child("type"), c.GetType()))
			}
			seen[c.GetType()] = true
		}
	}
	return errs
}

func validateCSRUpdate(csr, old *certificatesv1.CertificateSigningRequest, opts csrOptions) field.ErrorList {
	errs := validateCSR(csr, opts)
	p := field.NewPath("status", "conditions")
	for _, t := range []string{CSRApproved, CSRDenied, CSRFailed} {
		if len(conditionsOf(csr, t)) < len(conditionsOf(old, t)) {
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !opts.setApproval {
		for _, t := range []string{CSRApproved, CSRDenied} {
			now, was := conditionsOf(csr, t), conditionsOf(old, t)
			switch {
			case len(now) < len(was):
				// refused above
			case len(now) > len(was):
				errs = append(errs, field.Forbidden(p, fmt.Sprintf("updates may not add a condition of type %q", t)))
			case !sameConditions(now, was):
				errs = append(errs, field.Forbidden(p, fmt.Sprintf("updates may not modify a condition of type %q", t)))
			}
		}
	}
	if cert, oldCert := csr.GetStatus().GetCertificate(), old.GetStatus().GetCertificate(); !bytes.Equal(cert, oldCert) {
		switch {
		case !opts.setCertificate:
			errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not set certificate content"))
		case len(oldCert) > 0:
			errs = append(errs, field.Forbidden(field.NewPath("status", "certificate"), "updates may not modify existing certificate content"))
		}
	}
	return errs
}

// conditionsOf are a request's conditions of one type, in order.
func conditionsOf(csr *certificatesv1.CertificateSigningRequest, t string) []*certificatesv1.CertificateSigningRequestCondition {
	var out []*certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.GetStatus().GetConditions() {
		if c.GetType() == t {
			out = append(out, c)
		}
	}
	return out
}

func sameConditions(a, b []*certificatesv1.CertificateSigningRequestCondition) bool {
	return slices.EqualFunc(a, b, func(x, y *certificatesv1.CertificateSigningRequestCondition) bool { return proto.Equal(x, y) })
}

// SignerName checks a signer's name as Kubernetes does: a domain of at
// least two DNS labels, a slash, and a path of DNS subdomains joined by
// dots, 571 characters in all at most.
func SignerName(p *field.Path, name string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	segments := strings.Split(name, "/")
	if len(segments) != 2 {
		return field.ErrorList{field.Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs field.ErrorList
	domain, path := segments[0], segments[1]
	if len(domain) > validation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(p, validation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if msgs := validation.IsDNS1123Label(l); len(msgs) > 0 {
			for _, m := range msgs {
				errs = append(errs, field.Invalid(p, domain, fmt.Sprintf("validating label %q: %s", l, m)))
			}
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(p, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(path, ".") {
		if msgs := validation.IsDNS1123Subdomain(l); len(msgs) > 0 {
			for _, m := range msgs {
				errs = append(errs, field.Invalid(p, path, fmt.Sprintf("validating label %q: %s", l, m)))
			}
			break
		}
	}
	maxPath := validation.DNS1123SubdomainMaxLength + validation.DNS1123LabelMaxLength + 1
	if maxName := validation.DNS1123SubdomainMaxLength + maxPath + 1; len(name) > maxName {
		errs = append(errs, field.TooLong(p, maxName))
	}
	return errs
}
