// Package bootstraptoken authenticates bootstrap tokens (--enable-bootstrap-
// token-auth), as Kubernetes' bootstrap token authenticator does: a bearer
// token "<id>.<secret>" is accepted when the Secret bootstrap-token-<id>
// in kube-system, of type bootstrap.kubernetes.io/token and not being
// deleted, holds that id and secret, has usage-bootstrap-authentication
// "true", has not expired and names only valid extra groups; the user is
// system:bootstrap:<id> in system:bootstrappers and the extra groups.
//
// The tokens' Secrets are kept in memory, followed through the secrets
// backend's watch (Kubernetes reads them from an informer's cache), so an
// authentication reads no etcd.
package bootstraptoken

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/follow"
	"skiff.dev/services/apiserver/internal/registry"
)

// Authenticator accepts bootstrap tokens.
type Authenticator struct {
	mu      sync.RWMutex
	secrets map[string]*corev1.Secret // by name
	now     func() time.Time
}

var _ auth.TokenAuthenticator = (*Authenticator)(nil)

// New returns an authenticator that knows no token until Start.
func New() *Authenticator {
	return &Authenticator{secrets: map[string]*corev1.Secret{}, now: time.Now}
}

// AuthenticateToken checks a token; tokens not of the bootstrap form are
// left to the other authenticators without a look.
func (a *Authenticator) AuthenticateToken(_ context.Context, token string) (auth.User, bool, error) {
	id, secret, ok := bootstraptoken.Parse(token)
	if !ok {
		return auth.User{}, false, nil
	}
	a.mu.RLock()
	s := a.secrets[bootstraptoken.SecretName(id)]
	a.mu.RUnlock()
	refuse := func(why string) (auth.User, bool, error) {
		return auth.User{}, false, fmt.Errorf("bootstrap token secret %s/%s matching the bearer token %s", bootstraptoken.Namespace, bootstraptoken.SecretName(id), why)
	}
	switch {
	case s == nil:
		return auth.User{}, false, nil
	case s.GetMetadata().GetDeletionTimestamp() != nil:
		return refuse("is deleted and awaiting removal")
	case s.GetType() != bootstraptoken.SecretType || s.GetData() == nil:
		return refuse("has invalid type, expected " + bootstraptoken.SecretType)
	case subtle.ConstantTimeCompare([]byte(bootstraptoken.Data(s, bootstraptoken.SecretKey)), []byte(secret)) != 1:
		return refuse("has invalid value for key " + bootstraptoken.SecretKey)
	case bootstraptoken.Data(s, bootstraptoken.IDKey) != id:
		return refuse("has invalid value for key " + bootstraptoken.IDKey)
	}
	if _, expired := bootstraptoken.Expiration(s, a.now()); expired {
		return refuse("has expired")
	}
	if bootstraptoken.Data(s, bootstraptoken.UsageAuthKey) != "true" {
		return refuse("is not marked " + bootstraptoken.UsageAuthKey + "=true")
	}
	groups, err := bootstraptoken.Groups(s)
	if err != nil {
		return refuse(fmt.Sprintf("has invalid value for key %s: %v", bootstraptoken.ExtraGroupsKey, err))
	}
	return auth.User{Name: bootstraptoken.UserPrefix + id, Groups: groups}, true, nil
}

// Start lists the tokens' Secrets from the secrets backend and follows
// them until ctx ends. It returns once the first list is in.
func (a *Authenticator) Start(ctx context.Context, secrets registry.Backend) error {
	f := &follow.Follower{Backend: secrets, Namespace: bootstraptoken.Namespace,
		Selection: registry.ListOptions{FieldSelector: "type=" + bootstraptoken.SecretType},
		Set:       a.set, Remove: a.remove}
	rev, err := f.List(ctx)
	if err != nil {
		return fmt.Errorf("list the bootstrap token secrets: %w", err)
	}
	go f.Run(ctx, rev)
	return nil
}

func (a *Authenticator) set(obj proto.Message) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[s.GetMetadata().GetName()] = s
}

func (a *Authenticator) remove(_, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.secrets, name)
}
