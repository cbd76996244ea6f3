package crdnames

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// Establish is one pass of Kubernetes' establishing controller over crd:
// nil when there is nothing to write (its names are not all accepted yet,
// or it is established already), else a copy of crd that is established
// at now, or, when its conversion webhook's CA bundle cannot be read,
// one that says so and stays unestablished.
//
// Kubernetes runs it a few seconds after the names are accepted, so that
// every API server has seen them before the resource is served.
func Establish(crd *apiextensionsv1.CustomResourceDefinition, now time.Time) *apiextensionsv1.CustomResourceDefinition {
	if !IsConditionTrue(crd, NamesAccepted) || IsEstablished(crd) {
		return nil
	}
	out := proto.Clone(crd).(*apiextensionsv1.CustomResourceDefinition)
	cond := condition(Established, True, "InitialNamesAccepted", "the initial names have been accepted")
	if cc := crd.GetSpec().GetConversion().GetWebhook().GetClientConfig(); cc != nil && CABundleError(cc.GetCaBundle()) != nil {
		cond = condition(Established, False, "InvalidCABundle", "The conversion webhook CABundle is invalid")
	}
	SetCondition(out, cond, now)
	return out
}

// CABundleError says why caBundle holds no usable certificate authority,
// with the words of Kubernetes' client TLS set-up; nil when it has one or
// is empty (the system's roots are used then).
func CABundleError(caBundle []byte) error {
	if len(caBundle) == 0 || x509.NewCertPool().AppendCertsFromPEM(caBundle) {
		return nil
	}
	return fmt.Errorf("unable to load root certificates: %w", pemError(caBundle))
}

// pemError finds what is wrong in PEM data that yielded no certificate.
func pemError(data []byte) error {
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return fmt.Errorf("unable to parse bytes as PEM block")
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("failed to parse certificate: %w", err)
		}
	}
	return fmt.Errorf("no valid certificate authority data seen")
}
