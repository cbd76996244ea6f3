package serviceaccount

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
)

// leeway is the clock skew allowed on exp and nbf, and how long an object
// may linger after its deletionTimestamp before its tokens stop working,
// as Kubernetes allows.
const leeway = time.Minute

// Groups every service account belongs to; the second gains ":<namespace>".
const (
	AllServiceAccountsGroup = "system:serviceaccounts"
	namespaceGroupPrefix    = "system:serviceaccounts:"
)

// Authenticator accepts service-account tokens as bearer tokens.
type Authenticator struct {
	cfg  Config
	keys []publicKey
}

var _ auth.TokenAuthenticator = (*Authenticator)(nil)

// NewAuthenticator prepares the verification keys: cfg.VerifyKeys and the
// public half of cfg.SigningKey.
func NewAuthenticator(cfg Config) (*Authenticator, error) {
	if len(cfg.Issuers) == 0 || len(cfg.APIAudiences) == 0 || cfg.Objects == nil {
		return nil, errors.New("service account authentication needs issuers, API audiences and objects")
	}
	pubs := slices.Clone(cfg.VerifyKeys)
	if cfg.SigningKey != nil {
		pubs = append(pubs, cfg.SigningKey.Public())
	}
	a := &Authenticator{cfg: cfg}
	seen := map[string]bool{}
	for _, p := range pubs {
		k, err := newPublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("service account key: %w", err)
		}
		if !seen[k.kid] {
			seen[k.kid] = true
			a.keys = append(a.keys, k)
		}
	}
	if len(a.keys) == 0 {
		return nil, errNoKeys
	}
	return a, nil
}

// AuthenticateToken returns the service account a token belongs to. A
// token that is not a JWT of one of the configured issuers is not ours
// (ok false, no error); one that is but fails a check returns the reason.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (auth.User, bool, error) {
	u, _, ok, err := a.AuthenticateTokenFor(ctx, token, a.cfg.APIAudiences)
	return u, ok, err
}

var _ auth.AudienceAuthenticator = (*Authenticator)(nil)

// AuthenticateTokenFor is AuthenticateToken for other audiences than the
// apiserver's (a TokenReview's): the token must name one of them, and
// matched are those it names.
func (a *Authenticator) AuthenticateTokenFor(ctx context.Context, token string, audiences []string) (_ auth.User, matched []string, _ bool, _ error) {
	t, err := parseJWS(token)
	if errors.Is(err, errNotJWT) {
		return auth.User{}, nil, false, nil
	}
	var c Claims
	if err == nil {
		err = json.Unmarshal(t.payload, &c)
	}
	if err != nil || !slices.Contains(a.cfg.Issuers, c.Issuer) {
		return auth.User{}, nil, false, nil
	}
	if err := t.verify(a.keys); err != nil {
		return auth.User{}, nil, false, fmt.Errorf("service account token: %w", err)
	}
	now := a.cfg.now()
	if err := checkClaims(&c, now, audiences); err != nil {
		return auth.User{}, nil, false, fmt.Errorf("service account token: %w", err)
	}
	u, err := a.checkObjects(ctx, c.Kubernetes, now)
	if err != nil {
		return auth.User{}, nil, false, fmt.Errorf("service account token: %w", err)
	}
	u.Extra = extra(&c)
	if w := c.Kubernetes.WarnAfter; w != 0 && now.Unix() > int64(w) {
		slog.DebugContext(ctx, "stale service account token used", "user", u.Name, "warnafter", time.Unix(int64(w), 0))
	}
	return u, auth.Intersect(audiences, c.Audience), true, nil
}

// The user's extra keys for what a token is bound to, and which token it
// is, as Kubernetes names them.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

// extra is what a token's claims say besides the account: the pod and
// node it is bound to and its id (JTI=<jti>), as Kubernetes puts them in
// the user's extra.
func extra(c *Claims) map[string][]string {
	out := map[string][]string{}
	if p := c.Kubernetes.Pod; p != nil {
		out[ExtraPodName], out[ExtraPodUID] = []string{p.Name}, []string{p.UID}
	}
	if n := c.Kubernetes.Node; n != nil {
		out[ExtraNodeName] = []string{n.Name}
		if n.UID != "" {
			out[ExtraNodeUID] = []string{n.UID}
		}
	}
	if c.ID != "" {
		out[ExtraCredentialID] = []string{"JTI=" + c.ID}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// checkClaims checks the lifetime, the audience (one of audiences) and the
// subject.
func checkClaims(c *Claims, now time.Time, audiences []string) error {
	if c.Expiry == 0 {
		return errors.New("no expiry")
	}
	if now.Add(-leeway).Unix() > int64(c.Expiry) {
		return errors.New("expired")
	}
	if c.NotBefore != 0 && now.Add(leeway).Unix() < int64(c.NotBefore) {
		return errors.New("not valid yet")
	}
	if !c.Audience.Intersects(audiences) {
		return fmt.Errorf("token audiences %q is invalid for the target audiences %q", []string(c.Audience), audiences)
	}
	p := c.Kubernetes
	if p == nil {
		return errors.New("no kubernetes.io claim")
	}
	ns, name, ok := splitUserName(c.Subject)
	if !ok || ns != p.Namespace || name != p.ServiceAccount.Name {
		return fmt.Errorf("subject %q does not name the service account %s/%s", c.Subject, p.Namespace, p.ServiceAccount.Name)
	}
	return nil
}

// checkObjects makes sure the account, and the object the token is bound
// to, still exist as they were when the token was issued.
func (a *Authenticator) checkObjects(ctx context.Context, p *Private, now time.Time) (auth.User, error) {
	sa, err := a.cfg.Objects.ServiceAccount(ctx, p.Namespace, p.ServiceAccount.Name)
	if err := live("service account", p.Namespace, p.ServiceAccount, sa.GetMetadata(), err, now); err != nil {
		return auth.User{}, err
	}
	if p.Pod != nil {
		pod, err := a.cfg.Objects.Pod(ctx, p.Namespace, p.Pod.Name)
		if err := live("pod", p.Namespace, *p.Pod, pod.GetMetadata(), err, now); err != nil {
			return auth.User{}, err
		}
	}
	if p.Secret != nil {
		secret, err := a.cfg.Objects.Secret(ctx, p.Namespace, p.Secret.Name)
		if err := live("secret", p.Namespace, *p.Secret, secret.GetMetadata(), err, now); err != nil {
			return auth.User{}, err
		}
	}
	return auth.User{
		Name: UserName(p.Namespace, p.ServiceAccount.Name), UID: p.ServiceAccount.UID,
		Groups: []string{AllServiceAccountsGroup, namespaceGroupPrefix + p.Namespace},
	}, nil
}

// live checks that an object a token names was found, is the one the
// token names, and has not been deleted for longer than the leeway.
func live(what, namespace string, ref Ref, m *metav1.ObjectMeta, getErr error, now time.Time) error {
	switch {
	case apierrors.IsNotFound(getErr):
		return fmt.Errorf("%s %s/%s has been deleted", what, namespace, ref.Name)
	case getErr != nil:
		return fmt.Errorf("look up %s %s/%s: %w", what, namespace, ref.Name, getErr)
	case m.GetUid() != ref.UID:
		return fmt.Errorf("%s %s/%s has uid %s, the token names %s", what, namespace, ref.Name, m.GetUid(), ref.UID)
	case m.GetDeletionTimestamp() != nil && m.GetDeletionTimestamp().AsTime().Before(now.Add(-leeway)):
		return fmt.Errorf("%s %s/%s has been deleted", what, namespace, ref.Name)
	}
	return nil
}
