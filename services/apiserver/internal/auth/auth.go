// Package auth authenticates requests on both API faces: by client
// certificate (signed by a client CA; common name = user, organizations =
// groups), else by bearer token through a chain of token authenticators
// (the static token file in Kubernetes' format token,user,uid,"group1,
// group2", service-account JWTs), the first that accepts a token naming
// the user; requests without credentials are system:anonymous when that is
// enabled. On first start an admin token is generated into the token file.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
	// Extra is what an authenticator knows besides (a service account
	// token's pod and node, an impersonator's Impersonate-Extra-*).
	Extra map[string][]string
}

// Tokens is a set of static bearer tokens.
type Tokens struct {
	byToken map[string]User
}

// AdminUser is the identity of the generated admin token.
var AdminUser = User{Name: "skiff-admin", UID: "skiff-admin", Groups: []string{"system:masters"}}

// LoadFile reads a token file.
func LoadFile(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	t := &Tokens{byToken: map[string]User{}}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) < 3 || rec[0] == "" || rec[1] == "" {
			return nil, fmt.Errorf("%s:%d: want token,user,uid[,\"groups\"]", path, line)
		}
		u := User{Name: rec[1], UID: rec[2]}
		if len(rec) > 3 && rec[3] != "" {
			u.Groups = strings.Split(rec[3], ",")
		}
		t.byToken[rec[0]] = u
	}
	return t, nil
}

// EnsureAdminToken makes sure the token file exists and holds an admin
// token, and returns that token.
func EnsureAdminToken(path string) (string, error) {
	if t, err := LoadFile(path); err == nil {
		for token, u := range t.byToken {
			if u.Name == AdminUser.Name {
				return token, nil
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := hex.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{token, AdminUser.Name, AdminUser.UID, strings.Join(AdminUser.Groups, ",")})
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the user of a token.
func (t *Tokens) Authenticate(token string) (User, bool) {
	for known, u := range t.byToken {
		if subtle.ConstantTimeCompare([]byte(known), []byte(token)) == 1 {
			return u, true
		}
	}
	return User{}, false
}

// AuthenticateToken makes the token file a TokenAuthenticator.
func (t *Tokens) AuthenticateToken(_ context.Context, token string) (User, bool, error) {
	u, ok := t.Authenticate(token)
	return u, ok, nil
}

// TokenAuthenticator turns a bearer token into a user. ok is false when it
// does not accept the token; err says why it refused a token that looked
// like its own (for the logs: clients only see 401).
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (u User, ok bool, err error)
}

var _ TokenAuthenticator = (*Tokens)(nil)

// AuthenticatedGroup is the group of every authenticated user.
const AuthenticatedGroup = "system:authenticated"

// Chain tries its authenticators in order; the first that accepts a
// token names the user, who also joins system:authenticated.
type Chain []TokenAuthenticator

// AuthenticateToken runs the chain.
func (c Chain) AuthenticateToken(ctx context.Context, token string) (User, bool, error) {
	var errs []error
	for _, a := range c {
		u, ok, err := a.AuthenticateToken(ctx, token)
		if ok {
			return withAuthenticated(u), true, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return User{}, false, errors.Join(errs...)
}

// AudienceAuthenticator is a TokenAuthenticator whose tokens name the
// audiences they are for (service-account JWTs): it accepts a token only
// for one of audiences, and says which of them the token names.
type AudienceAuthenticator interface {
	AuthenticateTokenFor(ctx context.Context, token string, audiences []string) (u User, matched []string, ok bool, err error)
}

// Review authenticates a token for audiences, as a TokenReview asks: an
// AudienceAuthenticator checks the token's own audiences; the others' tokens
// (static, bootstrap) are good for the apiserver's own audiences only, so
// they answer when audiences names one of apiAudiences, and are good for
// those. matched are the audiences the token was accepted for.
func (c Chain) Review(ctx context.Context, token string, audiences, apiAudiences []string) (u User, matched []string, ok bool, err error) {
	var errs []error
	for _, a := range c {
		if aa, isAA := a.(AudienceAuthenticator); isAA {
			u, matched, ok, err = aa.AuthenticateTokenFor(ctx, token, audiences)
		} else if matched = Intersect(apiAudiences, audiences); len(matched) > 0 {
			u, ok, err = a.AuthenticateToken(ctx, token)
		} else {
			continue
		}
		if ok {
			return withAuthenticated(u), matched, true, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return User{}, nil, false, errors.Join(errs...)
}

// Intersect returns the audiences of a that b names too, in a's order.
func Intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// withAuthenticated adds system:authenticated to an authenticated user's
// groups.
func withAuthenticated(u User) User {
	if !slices.Contains(u.Groups, AuthenticatedGroup) {
		u.Groups = append(slices.Clip(u.Groups), AuthenticatedGroup)
	}
	return u
}

// authenticate checks one bearer token; why a token was refused goes to
// the debug log.
func (c Chain) authenticate(ctx context.Context, token string) (User, bool) {
	u, ok, err := c.AuthenticateToken(ctx, token)
	if err != nil {
		slog.DebugContext(ctx, "bearer token refused", "err", err)
	}
	return u, ok
}

type userKey struct{}

// WithUser returns a context that carries u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user a context carries.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// Anonymous is the user of a request without credentials when anonymous
// requests are enabled: authorization decides what it may do (Kubernetes'
// bootstrap policy lets it read /healthz, /livez, /readyz and /version).
var Anonymous = User{Name: "system:anonymous", Groups: []string{UnauthenticatedGroup}}

// UnauthenticatedGroup is the group of the anonymous user.
const UnauthenticatedGroup = "system:unauthenticated"

// Authenticator authenticates requests on both faces, as Kubernetes'
// authenticators do in turn: a verified client certificate names the
// user, else a valid bearer token does; a request that presented a
// certificate or token and was accepted by neither is refused with 401;
// one without credentials is the anonymous user when Anonymous is set and
// refused otherwise.
type Authenticator struct {
	// Certificates authenticates client certificates; nil takes none.
	Certificates *Certificates
	Tokens       Chain
	Anonymous    bool
}

// BearerToken extracts the token of an Authorization header value.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Middleware puts the request's user into its context, or refuses the
// request with a 401 Status, written by writeError.
func (a Authenticator) Middleware(next http.Handler, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var chain []*x509.Certificate
		if r.TLS != nil {
			chain = r.TLS.PeerCertificates
		}
		u, err := a.authenticate(r.Context(), chain, r.Header.Values("Authorization"))
		if err != nil {
			writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}

// errUnauthorized refuses a request's credentials, or its lack of them.
var errUnauthorized = errors.New("unauthorized")

// authenticate finds the user of a request's client certificates and
// Authorization values.
func (a Authenticator) authenticate(ctx context.Context, chain []*x509.Certificate, authorization []string) (User, error) {
	credentials := len(chain) > 0
	if u, ok, err := a.Certificates.AuthenticateCertificates(chain); ok {
		return withAuthenticated(u), nil
	} else if err != nil {
		slog.DebugContext(ctx, "client certificate refused", "err", err)
	}
	for _, v := range authorization {
		token, ok := BearerToken(v)
		if !ok {
			credentials = credentials || strings.TrimSpace(v) != ""
			continue
		}
		credentials = true
		if u, ok := a.Tokens.authenticate(ctx, token); ok {
			return u, nil
		}
	}
	if credentials || !a.Anonymous {
		return User{}, errUnauthorized
	}
	return Anonymous, nil
}

// authenticateGRPC finds the user of a call by its metadata.
func (a Authenticator) authenticateGRPC(ctx context.Context) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var chain []*x509.Certificate
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			chain = info.State.PeerCertificates
		}
	}
	u, err := a.authenticate(ctx, chain, md.Get("authorization"))
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "Unauthorized")
	}
	return WithUser(ctx, u), nil
}

// UnaryInterceptor authenticates unary calls.
func (a Authenticator) UnaryInterceptor(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	ctx, err := a.authenticateGRPC(ctx)
	if err != nil {
		return nil, err
	}
	return next(ctx, req)
}

// StreamInterceptor authenticates streams.
func (a Authenticator) StreamInterceptor(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	ctx, err := a.authenticateGRPC(ss.Context())
	if err != nil {
		return err
	}
	return next(srv, &authedStream{ServerStream: ss, ctx: ctx})
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }
