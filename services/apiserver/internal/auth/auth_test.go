package auth

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
	h := tokens.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := UserFrom(r.Context()); !ok && r.URL.Path != "/livez" {
			t.Errorf("%s reached the handler without a user", r.URL.Path)
		}
	}), func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusUnauthorized) })
	for _, tc := range []struct {
		path, header string
		want         int
	}{
		{"/api/v1/pods", "", 401},
		{"/api/v1/pods", "Bearer nope", 401},
		{"/api/v1/pods", "Basic " + token, 401},
		{"/api/v1/pods", "Bearer " + token, 200},
		{"/livez", "", 200},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %q: got %d want %d", tc.path, tc.header, rec.Code, tc.want)
		}
	}
}
