package app

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
	"skiff.dev/services/kubelet/internal/volumes"
)

// Token refresh, as Kubernetes' kubelet token manager does it.
const (
	// tokenMaxTTL: a token older than this is refreshed whatever its
	// lifetime.
	tokenMaxTTL = 24 * time.Hour
	// tokenRefreshPercent: a token is refreshed once this share of its
	// lifetime is left.
	tokenRefreshPercent = 20
	// tokenMaxJitter spreads the refreshes of many pods.
	tokenMaxJitter = 10 * time.Second
	// tokenGCPeriod is how often tokens past their expiry are dropped.
	tokenGCPeriod = time.Minute
)

// createTokenFunc asks the apiserver for a token of a service account.
type createTokenFunc func(ctx context.Context, namespace, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error)

// tokenKey is one token a pod's volumes need.
type tokenKey struct {
	podUID, audience  string
	expirationSeconds int64
}

// tokens issues pod-bound service-account tokens for projected volumes
// through the TokenRequest API and caches them until they are due for a
// refresh.
type tokens struct {
	create createTokenFunc
	clock  clock.Clock
	jitter func() time.Duration

	mu     sync.Mutex
	cache  map[tokenKey]*authenticationv1.TokenRequest
	lastGC time.Time
}

var _ volumes.Tokens = (*tokens)(nil)

// newTokens issues tokens through c. Tokens of pods that are gone expire
// from the cache; Forget drops them at once.
func newTokens(c *client.Client) *tokens {
	return newTokensWith(func(ctx context.Context, namespace, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
		return c.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req)
	}, clock.Real{})
}

func newTokensWith(create createTokenFunc, clk clock.Clock) *tokens {
	return &tokens{
		create: create, clock: clk, cache: map[tokenKey]*authenticationv1.TokenRequest{},
		jitter: func() time.Duration { return rand.N(tokenMaxJitter) },
	}
}

// Token returns a token of the pod's service account bound to the pod,
// from the cache unless it is due for a refresh. When a refresh fails, a
// cached token that has not expired yet is returned instead.
func (t *tokens) Token(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (string, error) {
	key := tokenKey{podUID: pod.GetMetadata().GetUid(), audience: audience, expirationSeconds: expirationSeconds}
	now := t.clock.Now()
	t.mu.Lock()
	t.collectLocked(now)
	cached := t.cache[key]
	t.mu.Unlock()
	if cached != nil && !t.refreshDue(cached, now) {
		return cached.GetStatus().GetToken(), nil
	}
	fresh, err := t.request(ctx, pod, audience, expirationSeconds)
	if err != nil {
		if cached != nil && now.Before(cached.GetStatus().GetExpirationTimestamp().AsTime()) {
			slog.WarnContext(ctx, "service account token refresh failed, using the cached token",
				"pod", pod.GetMetadata().GetNamespace()+"/"+pod.GetMetadata().GetName(), "err", err)
			return cached.GetStatus().GetToken(), nil
		}
		return "", err
	}
	t.mu.Lock()
	t.cache[key] = fresh
	t.mu.Unlock()
	return fresh.GetStatus().GetToken(), nil
}

// request asks for a token of the pod's account, bound to the pod.
func (t *tokens) request(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds int64) (*authenticationv1.TokenRequest, error) {
	m := pod.GetMetadata()
	sa := pod.GetSpec().GetServiceAccountName()
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: &authenticationv1.TokenRequestSpec{
		ExpirationSeconds: proto.Int64(expirationSeconds),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{ApiVersion: "v1", Kind: "Pod", Name: m.GetName(), Uid: m.GetUid()},
	}}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	out, err := t.create(ctx, m.GetNamespace(), sa, req)
	if err != nil {
		return nil, fmt.Errorf("request a token of service account %s/%s for pod %s: %w", m.GetNamespace(), sa, m.GetName(), err)
	}
	if out.GetStatus().GetToken() == "" || out.GetStatus().GetExpirationTimestamp() == nil {
		return nil, fmt.Errorf("request a token of service account %s/%s for pod %s: the answer holds no token", m.GetNamespace(), sa, m.GetName())
	}
	return out, nil
}

// refreshDue: a token is refreshed when less than 20% of its lifetime is
// left, or when it is older than 24 hours, each less a random jitter.
func (t *tokens) refreshDue(tr *authenticationv1.TokenRequest, now time.Time) bool {
	if tr.GetSpec().ExpirationSeconds == nil {
		return true
	}
	exp := tr.GetStatus().GetExpirationTimestamp().AsTime()
	lifetime := time.Duration(tr.GetSpec().GetExpirationSeconds()) * time.Second
	jitter := t.jitter()
	issued := exp.Add(-lifetime)
	if now.After(issued.Add(tokenMaxTTL - jitter)) {
		return true
	}
	return now.After(exp.Add(-lifetime*tokenRefreshPercent/100 - jitter))
}

// collectLocked drops expired tokens, at most once per tokenGCPeriod: the
// tokens of pods that are gone go with them.
func (t *tokens) collectLocked(now time.Time) {
	if now.Sub(t.lastGC) < tokenGCPeriod {
		return
	}
	t.lastGC = now
	for k, tr := range t.cache {
		if !now.Before(tr.GetStatus().GetExpirationTimestamp().AsTime()) {
			delete(t.cache, k)
		}
	}
}

// Forget drops the cached tokens of a pod (call it when the pod is gone).
func (t *tokens) Forget(podUID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.cache {
		if k.podUID == podUID {
			delete(t.cache, k)
		}
	}
}
