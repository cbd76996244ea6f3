package crdnames

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// caPEM is a self-signed CA certificate.
func caPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: now, NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCABundleError(t *testing.T) {
	tests := []struct {
		name   string
		bundle []byte
		want   string // prefix of the message; "" for no error
	}{
		{"empty", nil, ""},
		{"a certificate", caPEM(t), ""},
		{"not PEM", []byte("hello"), "unable to load root certificates: unable to parse bytes as PEM block"},
		{"no certificate block", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}),
			"unable to load root certificates: no valid certificate authority data seen"},
		{"a broken certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
			"unable to load root certificates: failed to parse certificate: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CABundleError(tt.bundle)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestEstablish(t *testing.T) {
	accepted := condition(NamesAccepted, True, "NoConflicts", "no conflicts found")
	installing := condition(Established, False, "Installing", "the initial names have been accepted")
	foo := names("foos", "foo", "Foo")
	webhook := func(ca []byte) *apiextensionsv1.CustomResourceDefinition {
		d := def(foo, foo, accepted, installing)
		d.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: "Webhook",
			Webhook: &apiextensionsv1.WebhookConversion{ClientConfig: &apiextensionsv1.WebhookClientConfig{CaBundle: ca}}}
		return d
	}
	tests := []struct {
		name string
		crd  *apiextensionsv1.CustomResourceDefinition
		want *apiextensionsv1.CustomResourceDefinitionCondition // nil: nothing to write
	}{
		{"names not accepted", def(foo, nil, condition(NamesAccepted, False, "PluralConflict", "")), nil},
		{"established already", def(foo, foo, accepted, condition(Established, True, "InitialNamesAccepted", "")), nil},
		{"names accepted", def(foo, foo, accepted, installing),
			condition(Established, True, "InitialNamesAccepted", "the initial names have been accepted")},
		{"a webhook with a good CA bundle", webhook(caPEM(t)),
			condition(Established, True, "InitialNamesAccepted", "the initial names have been accepted")},
		{"a webhook with a bad CA bundle", webhook([]byte("x")),
			condition(Established, False, "InvalidCABundle", "The conversion webhook CABundle is invalid")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Establish(tt.crd, now)
			if tt.want == nil {
				if got != nil {
					t.Errorf("got %v, want nothing to write", got.Status.Conditions)
				}
				return
			}
			if c := FindCondition(got, Established); !Equivalent(c, tt.want) || !c.GetLastTransitionTime().AsTime().Equal(now) {
				t.Errorf("got %v, want %v at %v", c, tt.want, now)
			}
			if FindCondition(tt.crd, Established).GetStatus() != False {
				t.Error("the definition passed in was changed")
			}
		})
	}
}
