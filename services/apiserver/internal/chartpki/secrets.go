package chartpki

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/services/apiserver/internal/pki"
)

// GeneratedLabel marks the Secrets this package created, so that Delete
// removes those and never one a user brought.
const GeneratedLabel = "skiff.dev/generated-by"

// generator is GeneratedLabel's value.
const generator = "controlplane-pki"

// Result says which Secrets were created and which were there already.
type Result struct {
	Created, Kept []string
}

// Apply makes sure every Secret of the control plane exists in
// c.Namespace: the existing ones are read into dir, the rest of the
// material is generated beside them (Generate), and the missing Secrets
// are created from it. Existing Secrets are never changed.
func Apply(ctx context.Context, cs kubernetes.Interface, c Config, dir string) (Result, error) {
	var res Result
	if err := c.Validate(); err != nil {
		return res, err
	}
	secrets := cs.CoreV1().Secrets(c.Namespace)
	missing := map[string]bool{}
	for _, s := range c.Secrets() {
		got, err := secrets.Get(ctx, s.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing[s.Name] = true
		case err != nil:
			return res, fmt.Errorf("read Secret %s: %w", s.Name, err)
		case c.expiredNodeToken(got):
			// A new token, with a new expiration, replaces it.
			err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &got.UID}})
			if err != nil && !apierrors.IsNotFound(err) {
				return res, fmt.Errorf("delete Secret %s with an expired token: %w", s.Name, err)
			}
			slog.Info("node bootstrap token expired; making a new one", "secret", s.Name)
			missing[s.Name] = true
		default:
			if err := materialize(dir, s, got); err != nil {
				return res, err
			}
			res.Kept = append(res.Kept, s.Name)
		}
	}
	if len(missing) == 0 {
		return res, nil
	}
	if err := c.refuseOrphans(missing); err != nil {
		return res, err
	}
	if err := Generate(dir, c); err != nil {
		return res, err
	}
	for _, s := range c.Secrets() {
		if !missing[s.Name] {
			continue
		}
		obj, err := secretFrom(dir, c, s)
		if err != nil {
			return res, err
		}
		_, err = secrets.Create(ctx, obj, metav1.CreateOptions{FieldManager: generator})
		if apierrors.IsAlreadyExists(err) { // another run made it meanwhile: theirs stays
			slog.Warn("Secret appeared meanwhile; kept", "secret", s.Name)
			res.Kept = append(res.Kept, s.Name)
			continue
		}
		if err != nil {
			return res, fmt.Errorf("create Secret %s: %w", s.Name, err)
		}
		res.Created = append(res.Created, s.Name)
	}
	return res, nil
}

// expiredNodeToken says whether got is the node-bootstrap Secret this
// package made and its token has expired, or never expires while
// c.NodeTokenTTL asks for tokens that do. A Secret the user brought is
// never replaced.
func (c Config) expiredNodeToken(got *corev1.Secret) bool {
	if got.Name != c.Release+"-node-bootstrap" || got.Labels[GeneratedLabel] != generator || c.NodeTokenTTL <= 0 {
		return false
	}
	exp := string(got.Data[NodeTokenExpirationKey])
	if exp == "" {
		return true
	}
	t, err := time.Parse(time.RFC3339, exp)
	return err != nil || !c.now().Before(t)
}

// signedBy lists, for each CA's Secret, the Secrets whose certificates
// (or kubeconfigs' CA data) it signed.
func (c Config) signedBy() map[string][]string {
	cluster := []string{c.Release + "-apiserver-certs", c.Release + "-node-bootstrap"}
	for _, cl := range Clients {
		cluster = append(cluster, c.Release+"-"+cl.Name+"-kubeconfig")
	}
	return map[string][]string{
		c.Release + "-ca":      cluster,
		c.Release + "-etcd-ca": {c.Release + "-etcd-certs", c.Release + "-apiserver-certs"},
	}
}

// refuseOrphans fails when a CA's Secret is missing while Secrets it
// signed are kept: a new CA would sign what is missing, and the control
// plane would hold two CAs, neither verifying the other's certificates.
func (c Config) refuseOrphans(missing map[string]bool) error {
	signed := c.signedBy()
	for _, ca := range slices.Sorted(maps.Keys(signed)) {
		if !missing[ca] {
			continue
		}
		var kept []string
		for _, s := range signed[ca] {
			if !missing[s] {
				kept = append(kept, s)
			}
		}
		if len(kept) > 0 {
			return fmt.Errorf("Secret %s (a CA and its key) is missing, but %s hold certificates it signed, which a new CA would not verify: "+
				"restore %s, or delete those Secrets too so that a new CA issues everything", ca, strings.Join(kept, ", "), ca)
		}
	}
	return nil
}

// materialize writes an existing Secret's values into their files under
// dir, so Generate keeps them and signs what is missing with its CA.
func materialize(dir string, s Spec, got *corev1.Secret) error {
	for _, key := range slices.Sorted(maps.Keys(s.Files)) {
		v, ok := got.Data[key]
		if !ok && optionalKeys[key] {
			continue
		}
		if !ok {
			return fmt.Errorf("Secret %s has no key %q (it needs %v)", s.Name, key, slices.Sorted(maps.Keys(s.Files)))
		}
		path := filepath.Join(dir, s.Files[key])
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := pki.WriteFileAtomic(path, v, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// secretFrom reads a Secret's values from dir.
func secretFrom(dir string, c Config, s Spec) (*corev1.Secret, error) {
	obj := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: c.Namespace, Labels: map[string]string{
			GeneratedLabel: generator, "app.kubernetes.io/part-of": "skiff"}},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{},
	}
	if c.Instance != "" {
		obj.Labels["app.kubernetes.io/instance"] = c.Instance
	}
	for key, file := range s.Files {
		v, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("Secret %s: %w", s.Name, err)
		}
		obj.Data[key] = v
	}
	return obj, nil
}

// Delete removes the control plane's Secrets that Apply created (those
// carrying GeneratedLabel) and returns their names; Secrets a user made
// are left alone.
func Delete(ctx context.Context, cs kubernetes.Interface, c Config) ([]string, error) {
	secrets := cs.CoreV1().Secrets(c.Namespace)
	var deleted []string
	for _, s := range c.Secrets() {
		got, err := secrets.Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return deleted, fmt.Errorf("read Secret %s: %w", s.Name, err)
		}
		if got.Labels[GeneratedLabel] != generator {
			continue
		}
		err = secrets.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &got.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return deleted, fmt.Errorf("delete Secret %s: %w", s.Name, err)
		}
		deleted = append(deleted, s.Name)
	}
	return deleted, nil
}
