// Package clientbuilder gives each controller a client that authenticates
// as the controller's own service account in kube-system, as
// kube-controller-manager does with --use-service-account-credentials: the
// account is created if missing, and its token is requested through the
// TokenRequest API with the manager's own credentials and renewed before
// it expires. Each controller then holds only the permissions of its
// system:controller:<account> role.
package clientbuilder

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// Namespace holds the controllers' service accounts.
const Namespace = "kube-system"

// tokenSeconds is how long a requested token lasts; it is renewed once
// four fifths of that have passed.
const tokenSeconds = 3600

// Builder makes the controllers' clients.
type Builder struct {
	// Root is the manager's own client, which creates the accounts and
	// requests their tokens.
	Root *client.Client
	// Config is how the root client reached the apiserver: the
	// controllers' clients use its address and CA.
	Config client.Config
	// Now is the clock for renewals; nil is time.Now.
	Now func() time.Time
}

// ClientFor returns a client that acts as the named service account. It
// makes no call: the account is created, if missing, and its first token
// requested at the client's first call.
func (b *Builder) ClientFor(account string) (*client.Client, error) {
	cfg := client.Config{Address: b.Config.Address, Endpoints: b.Config.Endpoints, CAData: b.Config.CAData,
		ServerName: b.Config.ServerName, TokenSource: &tokens{b: b, account: account}}
	return client.New(cfg)
}

// ensureAccount creates the service account when it does not exist.
func (b *Builder) ensureAccount(ctx context.Context, account string) error {
	sas := b.Root.CoreV1().ServiceAccounts(Namespace)
	_, err := sas.Get(ctx, account)
	if client.IsNotFound(err) {
		_, err = sas.Create(ctx, &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: account, Namespace: Namespace}}, client.WriteOptions{})
		if client.IsAlreadyExists(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("service account %s/%s: %w", Namespace, account, err)
	}
	return nil
}

// tokens requests and caches one account's token.
type tokens struct {
	b       *Builder
	account string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func (t *tokens) now() time.Time {
	if t.b.Now != nil {
		return t.b.Now()
	}
	return time.Now()
}

// Token returns the cached token, or a new one when it is due for renewal.
func (t *tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.renewAt) {
		return t.token, nil
	}
	if t.token == "" {
		if err := t.b.ensureAccount(ctx, t.account); err != nil {
			return "", err
		}
	}
	tr, err := t.b.Root.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, t.account,
		&authenticationv1.TokenRequest{Spec: &authenticationv1.TokenRequestSpec{ExpirationSeconds: proto.Int64(tokenSeconds)}})
	if err != nil {
		if t.token != "" && t.now().Before(t.renewAt.Add(tokenSeconds*time.Second/5)) {
			return t.token, nil // still valid: try again at the next call
		}
		return "", fmt.Errorf("request a token for %s/%s: %w", Namespace, t.account, err)
	}
	issued := t.now()
	lifetime := time.Duration(tr.GetSpec().GetExpirationSeconds()) * time.Second
	if exp := tr.GetStatus().GetExpirationTimestamp(); exp != nil {
		lifetime = exp.AsTime().Sub(issued)
	}
	t.token, t.renewAt = tr.GetStatus().GetToken(), issued.Add(lifetime*4/5)
	return t.token, nil
}
