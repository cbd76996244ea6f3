package healthz

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// User is an authenticated (or the anonymous) user.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// The anonymous user and the groups Kubernetes' authenticators add.
const (
	AnonymousUser        = "system:anonymous"
	UnauthenticatedGroup = "system:unauthenticated"
	AuthenticatedGroup   = "system:authenticated"
	// MastersGroup is allowed everything by the apiserver, so a delegating
	// server need not ask about it.
	MastersGroup = "system:masters"
)

// Attributes are what a request asks to do, as a SubjectAccessReview
// describes it: a non-resource request (verb and path) or, for servers
// that map their paths onto an API resource (the kubelet's nodes/metrics),
// a resource request.
type Attributes struct {
	Verb, Path string

	ResourceRequest bool
	APIGroup        string
	APIVersion      string
	Resource        string
	Subresource     string
	Name            string
}

// NonResource describes a request by its path and lower-case method, as
// Kubernetes' servers describe requests outside the API.
func NonResource(r *http.Request) Attributes {
	return Attributes{Verb: strings.ToLower(r.Method), Path: r.URL.Path}
}

// Reviewer asks the apiserver: whose a bearer token is (a TokenReview;
// ok false when the apiserver refused it, err when it could not be asked
// or said why it refused), and whether a user may do something (a
// SubjectAccessReview).
type Reviewer interface {
	ReviewToken(ctx context.Context, token string) (u User, ok bool, err error)
	Authorize(ctx context.Context, u User, a Attributes) (allowed bool, reason string, err error)
}

// Delegation authenticates and authorizes requests through the apiserver,
// as Kubernetes' delegating authenticator and authorizer do for its
// components' secure ports:
//
//   - a client certificate that verifies against ClientCAs names the user
//     (common name) and groups (organizations); else a bearer token does,
//     as the apiserver's TokenReview answers; a request with neither is
//     system:anonymous; a refused certificate without a good token, or a
//     refused token, is 401;
//   - members of AlwaysAllowGroups and requests for AlwaysAllowPaths (a
//     trailing * matches a prefix) are allowed; anything else is allowed
//     only when the apiserver's SubjectAccessReview allows it, and is
//     refused with Kubernetes' 403 otherwise (500 when it cannot be asked).
//
// Answers are kept for TokenTTL and AllowTTL or DenyTTL, so a scraper
// costs the apiserver two reviews per interval, not two per scrape.
type Delegation struct {
	Reviewer Reviewer
	// ClientCAs verifies client certificates; nil takes none.
	ClientCAs         *x509.CertPool
	AlwaysAllowPaths  []string
	AlwaysAllowGroups []string
	// Attributes describes a request; nil is NonResource.
	Attributes func(*http.Request) Attributes
	TokenTTL   time.Duration
	AllowTTL   time.Duration
	DenyTTL    time.Duration

	once      sync.Once
	tokens    *ttlCache[tokenAnswer]
	decisions *ttlCache[decision]
}

type tokenAnswer struct {
	u  User
	ok bool
}

type decision struct {
	allowed bool
	reason  string
}

// cacheSize bounds each cache: a client cycling through tokens or paths
// costs reviews, not memory.
const cacheSize = 4096

func (d *Delegation) init() {
	d.once.Do(func() {
		d.tokens = newTTLCache[tokenAnswer](cacheSize)
		d.decisions = newTTLCache[decision](cacheSize)
	})
}

// Wrap serves next to the requests the apiserver authenticates and
// authorizes.
func (d *Delegation) Wrap(next http.Handler) http.Handler {
	d.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := d.authenticate(r)
		if !ok {
			writeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized", nil)
			return
		}
		attrs := NonResource(r)
		if d.Attributes != nil {
			attrs = d.Attributes(r)
		}
		allowed, reason, err := d.authorize(r.Context(), u, attrs)
		switch {
		case allowed:
			r.Header.Del("Authorization")
			next.ServeHTTP(w, r)
		case err != nil:
			slog.WarnContext(r.Context(), "authorization through the apiserver failed", "user", u.Name, "path", r.URL.Path, "err", err)
			writeStatus(w, http.StatusInternalServerError, "InternalError", "Internal error occurred: "+err.Error(),
				map[string]any{"causes": []map[string]string{{"message": err.Error()}}})
		default:
			msg, details := forbidden(u, attrs)
			if reason != "" {
				msg += ": " + reason
			}
			writeStatus(w, http.StatusForbidden, "Forbidden", msg, details)
		}
	})
}

// authenticate finds the request's user; ok is false for a 401.
func (d *Delegation) authenticate(r *http.Request) (User, bool) {
	if d.ClientCAs != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if u, ok := d.certificateUser(r.TLS.PeerCertificates); ok {
			return u, true
		}
		if _, ok := bearerToken(r); !ok {
			return User{}, false
		}
	}
	token, ok := bearerToken(r)
	if !ok {
		return User{Name: AnonymousUser, Groups: []string{UnauthenticatedGroup}}, true
	}
	key := hash(token)
	if a, ok := d.tokens.get(key); ok {
		return a.u, a.ok
	}
	u, ok, err := d.Reviewer.ReviewToken(r.Context(), token)
	if err != nil {
		slog.DebugContext(r.Context(), "bearer token refused", "err", err)
	}
	if ok && !slices.Contains(u.Groups, AuthenticatedGroup) {
		u.Groups = append(slices.Clip(u.Groups), AuthenticatedGroup)
	}
	// As Kubernetes' delegating authenticator, keep answers without an
	// error: an acceptance, or a refusal the apiserver gave no reason for.
	if err == nil {
		d.tokens.put(key, tokenAnswer{u: u, ok: ok}, d.TokenTTL)
	}
	return u, ok
}

// certificateUser verifies a client certificate chain.
func (d *Delegation) certificateUser(chain []*x509.Certificate) (User, bool) {
	opts := x509.VerifyOptions{Roots: d.ClientCAs, Intermediates: x509.NewCertPool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	leaf := chain[0]
	if _, err := leaf.Verify(opts); err != nil || leaf.Subject.CommonName == "" {
		return User{}, false
	}
	return User{Name: leaf.Subject.CommonName, Groups: append(slices.Clone(leaf.Subject.Organization), AuthenticatedGroup)}, true
}

// authorize decides, asking the apiserver when no rule here does.
func (d *Delegation) authorize(ctx context.Context, u User, a Attributes) (bool, string, error) {
	for _, g := range u.Groups {
		if slices.Contains(d.AlwaysAllowGroups, g) {
			return true, "", nil
		}
	}
	if pathAllowed(d.AlwaysAllowPaths, a.Path) {
		return true, "", nil
	}
	key, _ := json.Marshal(struct {
		U User
		A Attributes
	}{u, a})
	k := string(key)
	if dec, ok := d.decisions.get(k); ok {
		return dec.allowed, dec.reason, nil
	}
	allowed, reason, err := d.Reviewer.Authorize(ctx, u, a)
	if err != nil {
		return false, "", err
	}
	ttl := d.DenyTTL
	if allowed {
		ttl = d.AllowTTL
	}
	d.decisions.put(k, decision{allowed: allowed, reason: reason}, ttl)
	return allowed, reason, nil
}

// pathAllowed matches a path against paths and prefixes ending in *.
func pathAllowed(paths []string, path string) bool {
	for _, p := range paths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		} else if p == path {
			return true
		}
	}
	return false
}

// bearerToken is the token of an "Authorization: Bearer" header; another
// scheme is no credential, as in Kubernetes.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// forbidden is Kubernetes' message and details of a refused request.
func forbidden(u User, a Attributes) (string, map[string]any) {
	if !a.ResourceRequest {
		return fmt.Sprintf("forbidden: User %q cannot %s path %q", u.Name, a.Verb, a.Path), map[string]any{}
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	what := fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", u.Name, a.Verb, resource, a.APIGroup)
	qualified := a.Resource
	if a.APIGroup != "" {
		qualified += "." + a.APIGroup
	}
	details := map[string]any{"kind": a.Resource}
	if a.APIGroup != "" {
		details["group"] = a.APIGroup
	}
	if a.Name == "" {
		return qualified + " is forbidden: " + what, details
	}
	details["name"] = a.Name
	return fmt.Sprintf("%s %q is forbidden: %s", qualified, a.Name, what), details
}

// writeStatus answers with a Kubernetes Status.
func writeStatus(w http.ResponseWriter, code int, reason, message string, details map[string]any) {
	type status struct {
		Kind       string   `json:"kind"`
		APIVersion string   `json:"apiVersion"`
		Metadata   struct{} `json:"metadata"`
		Status     string   `json:"status"`
		Message    string   `json:"message"`
		Reason     string   `json:"reason"`
		Details    any      `json:"details,omitempty"`
		Code       int      `json:"code"`
	}
	st := status{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: message, Reason: reason, Code: code}
	if details != nil {
		st.Details = details
	}
	body, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// ttlCache keeps answers for a while, at most size of them.
type ttlCache[V any] struct {
	mu      sync.Mutex
	size    int
	entries map[string]ttlEntry[V]
	now     func() time.Time
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any](size int) *ttlCache[V] {
	return &ttlCache[V]{size: size, entries: map[string]ttlEntry[V]{}, now: time.Now}
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= c.size {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.size {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = ttlEntry[V]{v: v, expires: now.Add(ttl)}
}
