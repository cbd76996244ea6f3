package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
)

func TestAdminTokenIsGeneratedOnceAndAuthenticates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	token, err := EnsureAdminToken(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureAdminToken(path)
	if err != nil || again != token {
		t.Fatalf("second start gave %q, %v; want the same token", again, err)
	}
	tokens, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := tokens.Authenticate(token)
	if !ok || u.Name != AdminUser.Name || len(u.Groups) != 1 || u.Groups[0] != "system:masters" {
		t.Fatalf("got %+v %v", u, ok)
	}
	if _, ok := tokens.Authenticate(token + "x"); ok {
		t.Fatal("a wrong token authenticated")
	}
}

func TestMiddleware(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	token, _ := EnsureAdminToken(path)
	tokens, _ := LoadFile(path)
	var seen string
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			t.Errorf("%s reached the handler without a user", r.URL.Path)
		}
		seen = u.Name
	})
	refuse := func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusUnauthorized) }
	withAnonymous := Authenticator{Tokens: Chain{tokens}, Anonymous: true}.Middleware(handler, refuse)
	withoutAnonymous := Authenticator{Tokens: Chain{tokens}}.Middleware(handler, refuse)
	for _, tc := range []struct {
		h            http.Handler
		path, header string
		want         int
		user         string
	}{
		{withAnonymous, "/api/v1/pods", "", 200, "system:anonymous"},
		{withAnonymous, "/api/v1/pods", "Bearer nope", 401, ""},
		{withAnonymous, "/api/v1/pods", "Basic " + token, 401, ""},
		{withAnonymous, "/api/v1/pods", "Bearer " + token, 200, AdminUser.Name},
		{withoutAnonymous, "/livez", "", 401, ""},
		{withoutAnonymous, "/api/v1/pods", "Bearer " + token, 200, AdminUser.Name},
	} {
		seen = ""
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		tc.h.ServeHTTP(rec, req)
		if rec.Code != tc.want || seen != tc.user {
			t.Errorf("%s %q: got %d as %q, want %d as %q", tc.path, tc.header, rec.Code, seen, tc.want, tc.user)
		}
	}
}

// authFunc adapts a function to TokenAuthenticator.
type authFunc func(token string) (User, bool, error)

func (f authFunc) AuthenticateToken(_ context.Context, token string) (User, bool, error) {
	return f(token)
}

func TestChainTriesInOrderAndAddsAuthenticated(t *testing.T) {
	static := authFunc(func(tok string) (User, bool, error) {
		return User{Name: "alice", Groups: []string{"dev"}}, tok == "alice", nil
	})
	jwt := authFunc(func(tok string) (User, bool, error) {
		if tok == "expired.jwt.token" {
			return User{}, false, errors.New("expired")
		}
		return User{Name: "system:serviceaccount:default:default"}, tok == "good.jwt.token", nil
	})
	chain := Chain{static, jwt}
	for _, tc := range []struct {
		token, user string
		err         bool
	}{
		{"alice", "alice", false},
		{"good.jwt.token", "system:serviceaccount:default:default", false},
		{"expired.jwt.token", "", true},
		{"nope", "", false},
	} {
		u, ok, err := chain.AuthenticateToken(context.Background(), tc.token)
		if ok != (tc.user != "") || u.Name != tc.user || (err != nil) != tc.err {
			t.Errorf("%s: got %+v %v %v, want user %q, error %v", tc.token, u, ok, err, tc.user, tc.err)
		}
		if ok && !slices.Contains(u.Groups, AuthenticatedGroup) {
			t.Errorf("%s: groups %v lack %s", tc.token, u.Groups, AuthenticatedGroup)
		}
	}
}
