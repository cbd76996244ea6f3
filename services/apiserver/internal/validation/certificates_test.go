package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	certificatesv1 "skiff.dev/api/certificates/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// csrPEM is a PKCS#10 request for the subject, signed by a new key.
func csrPEM(t *testing.T, cn string, orgs ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func newCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		Metadata: &metav1.ObjectMeta{Name: "node-csr-1"},
		Spec: &certificatesv1.CertificateSigningRequestSpec{
			Request:    csrPEM(t, "system:node:n1", "system:nodes"),
			SignerName: "kubernetes.io/kube-apiserver-client-kubelet",
			Usages:     []string{"digital signature", "client auth"},
		},
	}
}

func cond(typ, status string) *certificatesv1.CertificateSigningRequestCondition {
	return &certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: status}
}

func TestValidateCSRCreate(t *testing.T) {
	if errs := ValidateCertificateSigningRequestCreate(newCSR(t)); len(errs) > 0 {
		t.Fatalf("a kubelet's request: %v", errs)
	}
	i32 := func(v int32) *int32 { return &v }
	for _, tc := range []struct {
		name   string
		change func(*certificatesv1.CertificateSigningRequest)
		want   []string
	}{
		{"garbage request", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("hello") },
			[]string{`spec.request: Invalid value: "aGVsbG8=": PEM block type must be CERTIFICATE REQUEST`}},
		{"certificate instead of a request", func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Request = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
		}, []string{"spec.request: Invalid value: \"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\": PEM block type must be CERTIFICATE REQUEST"}},
		{"no usages", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = nil },
			[]string{"spec.usages: Required value"}},
		{"unknown and repeated usages", func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Usages = []string{"client auth", "flying", "client auth"}
		}, []string{
			`spec.usages[1]: Unsupported value: "flying": supported values: "` + strings.Join(KeyUsages, `", "`) + `"`,
			`spec.usages[2]: Duplicate value: "client auth"`}},
		{"no signer", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "" },
			[]string{"spec.signerName: Required value"}},
		{"signer without a path", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com" },
			[]string{`spec.signerName: Invalid value: "example.com": must be a fully qualified domain and path of the form 'example.com/signer-name'`}},
		{"signer of one label", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example/signer" },
			[]string{`spec.signerName: Invalid value: "example": should be a domain with at least two segments separated by dots`}},
		{"signer path not a subdomain", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com/Signer" },
			[]string{`spec.signerName: Invalid value: "Signer": validating label "Signer": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{"legacy signer", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = LegacyUnknownSignerName },
			[]string{`spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version`}},
		{"too short", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = i32(599) },
			[]string{"spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)"}},
		{"ten minutes", func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = i32(600) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCSR(t)
			tc.change(c)
			expectMessages(t, ValidateCertificateSigningRequestCreate(c), tc.want...)
		})
	}
}

func TestValidateCSRConditions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conds []*certificatesv1.CertificateSigningRequestCondition
		want  []string
	}{
		{"approved", []*certificatesv1.CertificateSigningRequestCondition{cond("Approved", "True")}, nil},
		{"approved false", []*certificatesv1.CertificateSigningRequestCondition{cond("Approved", "False")},
			[]string{`status.conditions[0].status: Unsupported value: "False": supported values: "True"`}},
		{"other type, any status", []*certificatesv1.CertificateSigningRequestCondition{cond("Custom", "Unknown")}, nil},
		{"no type, no status", []*certificatesv1.CertificateSigningRequestCondition{cond("", "")},
			[]string{"status.conditions[0].type: Required value", "status.conditions[0].status: Required value"}},
		{"approved and denied", []*certificatesv1.CertificateSigningRequestCondition{cond("Approved", "True"), cond("Denied", "True")},
			[]string{`status.conditions: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive`}},
		{"twice", []*certificatesv1.CertificateSigningRequestCondition{cond("Failed", "True"), cond("Failed", "True")},
			[]string{`status.conditions[1].type: Duplicate value: "Failed"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCSR(t)
			c.Status = &certificatesv1.CertificateSigningRequestStatus{Conditions: tc.conds}
			expectMessages(t, ValidateCertificateSigningRequestCreate(c), tc.want...)
		})
	}
}

func TestValidateCSRUpdates(t *testing.T) {
	approved := func(t *testing.T) *certificatesv1.CertificateSigningRequest {
		c := newCSR(t)
		c.Status = &certificatesv1.CertificateSigningRequestStatus{Conditions: []*certificatesv1.CertificateSigningRequestCondition{cond("Approved", "True")}}
		return c
	}
	type update func(c, old *certificatesv1.CertificateSigningRequest) field.ErrorList
	for _, tc := range []struct {
		name   string
		update update
		old    func(*testing.T) *certificatesv1.CertificateSigningRequest
		change func(*certificatesv1.CertificateSigningRequest)
		want   []string
	}{
		{"approval approves", ValidateCertificateSigningRequestApprovalUpdate, newCSR, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status = &certificatesv1.CertificateSigningRequestStatus{Conditions: []*certificatesv1.CertificateSigningRequestCondition{cond("Approved", "True")}}
		}, nil},
		{"once approved, never denied", ValidateCertificateSigningRequestApprovalUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = append(c.Status.Conditions, cond("Denied", "True"))
		}, []string{`status.conditions: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive`}},
		{"approval not withdrawn", ValidateCertificateSigningRequestApprovalUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = nil
		}, []string{`status.conditions: Forbidden: updates may not remove a condition of type "Approved"`}},
		{"status does not approve", ValidateCertificateSigningRequestStatusUpdate, newCSR, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status = &certificatesv1.CertificateSigningRequestStatus{Conditions: []*certificatesv1.CertificateSigningRequestCondition{cond("Approved", "True")}}
		}, []string{`status.conditions: Forbidden: updates may not add a condition of type "Approved"`}},
		{"status fails", ValidateCertificateSigningRequestStatusUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Conditions = append(c.Status.Conditions, cond("Failed", "True"))
		}, nil},
		{"the object does not write the certificate", ValidateCertificateSigningRequestUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Certificate = []byte("x")
		}, []string{`status.certificate: Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block`,
			"status.certificate: Forbidden: updates may not set certificate content"}},
		{"status writes garbage", ValidateCertificateSigningRequestStatusUpdate, approved, func(c *certificatesv1.CertificateSigningRequest) {
			c.Status.Certificate = []byte("x")
		}, []string{`status.certificate: Invalid value: "<certificate data>": must contain at least one CERTIFICATE PEM block`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.old(t)
			c := &certificatesv1.CertificateSigningRequest{}
			*c = certificatesv1.CertificateSigningRequest{Metadata: old.Metadata, Spec: old.Spec, Status: &certificatesv1.CertificateSigningRequestStatus{}}
			if old.Status != nil {
				c.Status.Conditions = append(c.Status.Conditions, old.Status.Conditions...)
			}
			tc.change(c)
			expectMessages(t, tc.update(c, old), tc.want...)
		})
	}
}
