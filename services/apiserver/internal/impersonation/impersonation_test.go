package impersonation

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/authorizer"
)

// allowList allows "impersonate" of the resource/name pairs it holds, to
// the user "alice" only.
type allowList map[string]bool

func (l allowList) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	key := a.Resource
	if a.Subresource != "" {
		key += "/" + a.Subresource
	}
	if a.Namespace != "" {
		key += ":" + a.Namespace
	}
	if a.User == "alice" && a.Verb == "impersonate" && l[key+"="+a.Name] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func TestMiddleware(t *testing.T) {
	az := allowList{"users=bob": true, "groups=devs": true, "serviceaccounts:ci=builder": true,
		"userextras/scopes=view": true, "uids=1234": true, "users=system:anonymous": true}
	tests := []struct {
		name     string
		as       string
		headers  map[string][]string
		wantCode int
		want     auth.User
		wantMsg  string
	}{
		{name: "no headers is the caller", as: "mallory", wantCode: 200, want: auth.User{Name: "mallory"}},
		{name: "user", as: "alice", headers: map[string][]string{UserHeader: {"bob"}}, wantCode: 200,
			want: auth.User{Name: "bob", Groups: []string{"system:authenticated"}}},
		{name: "user and group", as: "alice", headers: map[string][]string{UserHeader: {"bob"}, GroupHeader: {"devs"}}, wantCode: 200,
			want: auth.User{Name: "bob", Groups: []string{"devs", "system:authenticated"}}},
		{name: "service account gets its groups", as: "alice", headers: map[string][]string{UserHeader: {"system:serviceaccount:ci:builder"}}, wantCode: 200,
			want: auth.User{Name: "system:serviceaccount:ci:builder", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ci", "system:authenticated"}}},
		{name: "extra and uid", as: "alice", headers: map[string][]string{UserHeader: {"bob"}, "Impersonate-Extra-Scopes": {"view"}, UIDHeader: {"1234"}}, wantCode: 200,
			want: auth.User{Name: "bob", UID: "1234", Groups: []string{"system:authenticated"}, Extra: map[string][]string{"scopes": {"view"}}}},
		{name: "anonymous stays unauthenticated", as: "alice", headers: map[string][]string{UserHeader: {"system:anonymous"}}, wantCode: 200,
			want: auth.User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}},
		{name: "user not allowed", as: "alice", headers: map[string][]string{UserHeader: {"carol"}}, wantCode: 403,
			wantMsg: `users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`},
		{name: "caller not allowed", as: "mallory", headers: map[string][]string{UserHeader: {"bob"}}, wantCode: 403,
			wantMsg: `users "bob" is forbidden: User "mallory" cannot impersonate resource "users" in API group "" at the cluster scope`},
		{name: "one group not allowed", as: "alice", headers: map[string][]string{UserHeader: {"bob"}, GroupHeader: {"devs", "system:masters"}}, wantCode: 403,
			wantMsg: `groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope`},
		{name: "service account of another namespace", as: "alice", headers: map[string][]string{UserHeader: {"system:serviceaccount:prod:builder"}}, wantCode: 403,
			wantMsg: `serviceaccounts "builder" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "prod"`},
		{name: "group without user", as: "alice", headers: map[string][]string{GroupHeader: {"devs"}}, wantCode: 400,
			wantMsg: "without impersonating a user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got auth.User
			var leaked bool
			h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = auth.UserFrom(r.Context())
				leaked = r.Header.Get(UserHeader) != ""
			}), az, func(w http.ResponseWriter, r *http.Request, err error) {
				st := apierrors.ToStatus(err)
				w.WriteHeader(int(st.GetCode()))
				_, _ = w.Write([]byte(st.GetMessage()))
			})
			req := httptest.NewRequest("GET", "/api/v1/pods", nil)
			for k, vs := range tt.headers {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			req = req.WithContext(auth.WithUser(req.Context(), auth.User{Name: tt.as}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Fatalf("got %d %q, want %d", rec.Code, rec.Body.String(), tt.wantCode)
			}
			if tt.wantCode != 200 {
				if !strings.Contains(rec.Body.String(), tt.wantMsg) {
					t.Fatalf("got message %q, want %q", rec.Body.String(), tt.wantMsg)
				}
				return
			}
			if got.Name != tt.want.Name || got.UID != tt.want.UID || !slices.Equal(got.Groups, tt.want.Groups) || len(got.Extra) != len(tt.want.Extra) {
				t.Fatalf("got user %+v, want %+v", got, tt.want)
			}
			for k, v := range tt.want.Extra {
				if !slices.Equal(got.Extra[k], v) {
					t.Fatalf("got extra %v, want %v", got.Extra, tt.want.Extra)
				}
			}
			if leaked {
				t.Fatal("the impersonation headers reached the handler")
			}
		})
	}
}
