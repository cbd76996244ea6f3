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
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/object"
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
	rev, err := a.list(ctx, secrets)
	if err != nil {
		return fmt.Errorf("list the bootstrap token secrets: %w", err)
	}
	go a.follow(ctx, secrets, rev)
	return nil
}

// selection are the Secrets the index keeps.
var selection = registry.ListOptions{FieldSelector: "type=" + bootstraptoken.SecretType}

// list replaces the index with the current Secrets and returns the list's
// resourceVersion.
func (a *Authenticator) list(ctx context.Context, secrets registry.Backend) (string, error) {
	list, err := secrets.List(ctx, bootstraptoken.Namespace, selection)
	if err != nil {
		return "", err
	}
	fresh := map[string]*corev1.Secret{}
	for _, obj := range object.Items(list) {
		if s, ok := obj.(*corev1.Secret); ok {
			fresh[s.GetMetadata().GetName()] = s
		}
	}
	a.mu.Lock()
	a.secrets = fresh
	a.mu.Unlock()
	return object.ListMeta(list).GetResourceVersion(), nil
}

// follow applies the watch's events, and lists again when it ends.
func (a *Authenticator) follow(ctx context.Context, secrets registry.Backend, rev string) {
	for ctx.Err() == nil {
		if err := a.watch(ctx, secrets, rev); err != nil && ctx.Err() == nil {
			slog.Warn("following the bootstrap token secrets; listing again", "err", err)
		}
		for {
			var err error
			if rev, err = a.list(ctx, secrets); err == nil || ctx.Err() != nil {
				break
			}
			slog.Warn("listing the bootstrap token secrets", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (a *Authenticator) watch(ctx context.Context, secrets registry.Backend, rev string) error {
	opts := selection
	opts.ResourceVersion = rev
	w, err := secrets.Watch(ctx, bootstraptoken.Namespace, opts)
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			s, isSecret := ev.Object.(*corev1.Secret)
			switch {
			case ev.Type == registry.Error:
				return errors.New("the watch failed")
			case !isSecret:
			case ev.Type == registry.Added || ev.Type == registry.Modified:
				a.mu.Lock()
				a.secrets[s.GetMetadata().GetName()] = proto.Clone(s).(*corev1.Secret)
				a.mu.Unlock()
			case ev.Type == registry.Deleted:
				a.mu.Lock()
				delete(a.secrets, s.GetMetadata().GetName())
				a.mu.Unlock()
			}
		}
	}
}
