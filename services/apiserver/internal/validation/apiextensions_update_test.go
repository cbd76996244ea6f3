package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/crdnames"
)

// testCA is a self-signed CA certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestValidateCustomResourceDefinitionUpdate(t *testing.T) {
	type crd = apiextensionsv1.CustomResourceDefinition
	established := func(c *crd) {
		crdnames.SetCondition(c, &apiextensionsv1.CustomResourceDefinitionCondition{Type: crdnames.Established, Status: crdnames.True}, time.Now())
	}
	withCA := func(ca []byte) func(*crd) {
		return func(c *crd) {
			c.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: "Webhook", Webhook: &apiextensionsv1.WebhookConversion{
				ClientConfig: &apiextensionsv1.WebhookClientConfig{Url: proto.String("https://conv.example.com"), CaBundle: ca}, ConversionReviewVersions: []string{"v1"}}}
		}
	}
	both := func(fs ...func(*crd)) func(*crd) {
		return func(c *crd) {
			for _, f := range fs {
				f(c)
			}
		}
	}
	noSchemas := func(c *crd) { c.Spec.Versions[0].Schema = nil }
	badCA := `spec.conversion.webhookClientConfig.caBundle: Invalid value: "eA==": unable to load root certificates: unable to parse bytes as PEM block`
	good := testCA(t)
	tests := []struct {
		name        string
		old, change func(*crd)
		want        []string
	}{
		{"unchanged", func(*crd) {}, func(*crd) {}, nil},
		{"group", func(*crd) {}, func(c *crd) { c.Spec.Group = "example.org" }, []string{`spec.group: Invalid value: "example.org": field is immutable`}},
		{"plural", func(*crd) {}, func(c *crd) { c.Spec.Names.Plural = "gizmos" }, []string{`spec.names.plural: Invalid value: "gizmos": field is immutable`}},
		{"scope and kind before establishing", func(*crd) {}, func(c *crd) { c.Spec.Scope, c.Spec.Names.Kind = "Cluster", "Gadget" }, nil},
		{"scope and kind once established", established, func(c *crd) { c.Spec.Scope, c.Spec.Names.Kind = "Cluster", "Gadget" }, []string{
			`spec.scope: Invalid value: "Cluster": field is immutable`, `spec.names.kind: Invalid value: "Gadget": field is immutable`}},
		{"a stored version removed", func(c *crd) { secondVersion(c) }, func(c *crd) {
			c.Spec.Versions = c.Spec.Versions[1:]
			c.Spec.Versions[0].Storage = true
			crdnames.RecordStorageVersion(c)
		}, []string{`status.storedVersions[0]: Invalid value: "v1": missing from spec.versions; v1 was previously a storage version, ` +
			"and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions"}},
		{"a new storage version", func(c *crd) { secondVersion(c) }, func(c *crd) {
			c.Spec.Versions[0].Storage, c.Spec.Versions[1].Storage = false, true
			crdnames.RecordStorageVersion(c)
		}, nil},
		{"versions without schemas stay allowed", noSchemas, noSchemas,
			[]string{"spec.versions[0].schema.openAPIV3Schema: Required value: because otherwise all fields are pruned"}},
		{"unknown review versions stay allowed", func(c *crd) {
			withCA(nil)(c)
			c.Spec.Conversion.Webhook.ConversionReviewVersions = []string{"v9"}
		}, func(c *crd) {
			withCA(nil)(c)
			c.Spec.Conversion.Webhook.ConversionReviewVersions = []string{"v9"}
		}, nil},
		{"a bad CA bundle before establishing", withCA(good), withCA([]byte("x")), nil},
		{"a bad CA bundle once established", both(established, withCA(good)), withCA([]byte("x")), []string{badCA}},
		{"a bad CA bundle where there was none", both(established, withCA(nil)), withCA([]byte("x")), []string{badCA}},
		{"a bad CA bundle that was bad", both(established, withCA([]byte("y"))), withCA([]byte("x")), nil},
		{"preserveUnknownFields that was true", func(c *crd) { c.Spec.PreserveUnknownFields = true }, func(c *crd) { c.Spec.PreserveUnknownFields = true }, nil},
		{"an approval that stays missing", func(c *crd) { c.Spec.Group, c.Metadata.Name = "x.k8s.io", "widgets.x.k8s.io" },
			func(c *crd) { c.Spec.Group, c.Metadata.Name = "x.k8s.io", "widgets.x.k8s.io" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validCRD()
			tt.old(old)
			c := proto.Clone(old).(*crd)
			tt.change(c)
			errorsEqual(t, ValidateCustomResourceDefinitionUpdate(c, old, nil), tt.want...)
		})
	}
}

func TestValidateCustomResourceDefinitionStatus(t *testing.T) {
	tests := []struct {
		name  string
		names *apiextensionsv1.CustomResourceDefinitionNames
		want  []string
	}{
		{"none yet", nil, nil},
		{"accepted", &apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"}, nil},
		{"list kind is the kind", &apiextensionsv1.CustomResourceDefinitionNames{Kind: "Widget", ListKind: "Widget"},
			[]string{`status.acceptedNames.listKind: Invalid value: "Widget": kind and listKind may not be the same`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCRD()
			c.Status.AcceptedNames = tt.names
			c.Status.StoredVersions = nil // not checked on a status write
			errorsEqual(t, ValidateCustomResourceDefinitionStatus(c), tt.want...)
		})
	}
}
