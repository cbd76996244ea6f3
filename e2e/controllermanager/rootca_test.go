package controllermanager

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// The ConfigMap Kubernetes publishes in every namespace, as clients (the
// conformance suite, projected service-account volumes) look for it.
const (
	rootCAConfigMap   = "kube-root-ca.crt"
	rootCADescription = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// systemNamespaces are the namespaces the apiserver makes at start.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

func TestRootCAIsPublishedInEveryNamespace(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	caA, caB := selfSignedCA(t, "ca-a"), selfSignedCA(t, "ca-b")
	replaceFile(t, caFile, caA)
	e := setup(t, "--controllers=root-ca-cert-publisher", "--root-ca-file="+caFile)
	for _, ns := range systemNamespaces {
		e.waitRootCA(ns, caA)
	}

	if _, err := e.c.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	first := e.waitRootCA("team", caA)

	if _, err := e.c.CoreV1().ConfigMaps("team").Delete(e.ctx, rootCAConfigMap, nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the deleted ConfigMap is back", func() error {
		cm, err := e.c.CoreV1().ConfigMaps("team").Get(e.ctx, rootCAConfigMap)
		if err != nil {
			return err
		}
		if cm.GetMetadata().GetUid() == first.GetMetadata().GetUid() {
			return fmt.Errorf("still the deleted one")
		}
		return checkRootCA(cm, caA)
	})

	e.tamperRootCA("team")
	framework.Eventually(t, 30*time.Second, "the edited ConfigMap is restored, the user's additions kept", func() error {
		cm, err := e.c.CoreV1().ConfigMaps("team").Get(e.ctx, rootCAConfigMap)
		if err != nil {
			return err
		}
		if m := cm.GetMetadata(); m.GetLabels()["owner"] != "me" || m.GetAnnotations()["note"] != "kept" {
			return fmt.Errorf("labels %v, annotations %v: want owner=me and note=kept", m.GetLabels(), m.GetAnnotations())
		}
		return checkRootCA(cm, caA)
	})

	replaceFile(t, caFile, caB)
	for _, ns := range slices.Concat(systemNamespaces, []string{"team"}) {
		e.waitRootCA(ns, caB)
	}
}

// TestRootCAFallsBackToTheKubeconfigCA: without --root-ca-file the
// published CA is the one the controller-manager's kubeconfig trusts —
// the apiserver's own CA, which the compose stack and make run also pass
// as --root-ca-file.
func TestRootCAFallsBackToTheKubeconfigCA(t *testing.T) {
	e := setup(t, "--controllers=root-ca-cert-publisher")
	cfg, err := client.FromKubeconfig(e.srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := os.ReadFile(filepath.Join(e.srv.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(caFile) != string(cfg.CAData) {
		t.Fatalf("the apiserver's pki/ca.crt is not the CA its admin kubeconfig trusts")
	}
	if _, err := e.c.CoreV1().Namespaces().Create(e.ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, ns := range slices.Concat(systemNamespaces, []string{"team"}) {
		e.waitRootCA(ns, cfg.CAData)
	}
}

// waitRootCA waits until namespace ns publishes ca and returns the
// ConfigMap.
func (e *env) waitRootCA(ns string, ca []byte) *corev1.ConfigMap {
	e.t.Helper()
	var cm *corev1.ConfigMap
	framework.Eventually(e.t, 60*time.Second, "namespace "+ns+" publishes the CA", func() error {
		var err error
		if cm, err = e.c.CoreV1().ConfigMaps(ns).Get(e.ctx, rootCAConfigMap); err != nil {
			return err
		}
		return checkRootCA(cm, ca)
	})
	return cm
}

func checkRootCA(cm *corev1.ConfigMap, ca []byte) error {
	if want := map[string]string{"ca.crt": string(ca)}; !maps.Equal(cm.GetData(), want) {
		return fmt.Errorf("data %v, want only ca.crt with the CA", cm.GetData())
	}
	if d := cm.GetMetadata().GetAnnotations()["kubernetes.io/description"]; d != rootCADescription {
		return fmt.Errorf("description %q, want Kubernetes' text", d)
	}
	return nil
}

// tamperRootCA edits a namespace's ConfigMap as a user might: other data,
// no description, and a label and annotation of their own.
func (e *env) tamperRootCA(ns string) {
	e.t.Helper()
	framework.Eventually(e.t, 30*time.Second, "edit the ConfigMap", func() error {
		cm, err := e.c.CoreV1().ConfigMaps(ns).Get(e.ctx, rootCAConfigMap)
		if err != nil {
			return err
		}
		m := cm.GetMetadata()
		cm.Data = map[string]string{"ca.crt": "tampered", "extra": "x"}
		delete(m.Annotations, "kubernetes.io/description")
		m.Annotations["note"] = "kept"
		m.Labels = map[string]string{"owner": "me"}
		_, err = e.c.CoreV1().ConfigMaps(ns).Update(e.ctx, cm, client.WriteOptions{})
		return err
	})
}

// selfSignedCA is a new CA certificate, PEM-encoded.
func selfSignedCA(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// replaceFile writes a file whole, by rename, as a CA is rotated.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
