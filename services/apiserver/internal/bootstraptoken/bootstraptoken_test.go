package bootstraptoken

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/services/apiserver/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func withSecrets(secrets ...*corev1.Secret) *Authenticator {
	a := New()
	a.now = func() time.Time { return now }
	for _, s := range secrets {
		a.secrets[s.GetMetadata().GetName()] = s
	}
	return a
}

func TestAuthenticateToken(t *testing.T) {
	valid := bootstraptoken.Secret("abcdef", "0123456789abcdef", now.Add(time.Hour), "system:bootstrappers:kubeadm:default-node-token")
	for _, tc := range []struct {
		name   string
		token  string
		change func(s *corev1.Secret)
		user   string
		groups []string
	}{
		{name: "valid", token: "abcdef.0123456789abcdef", user: "system:bootstrap:abcdef",
			groups: []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"}},
		{name: "no expiration", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { delete(s.Data, "expiration") },
			user: "system:bootstrap:abcdef", groups: []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"}},
		{name: "no extra groups", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { delete(s.Data, "auth-extra-groups") },
			user: "system:bootstrap:abcdef", groups: []string{"system:bootstrappers"}},
		{name: "wrong secret", token: "abcdef.0123456789abcdee"},
		{name: "unknown id", token: "abcdeg.0123456789abcdef"},
		{name: "not a bootstrap token", token: "abcdef0123456789abcdef"},
		{name: "upper case", token: "ABCDEF.0123456789ABCDEF"},
		{name: "expired", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) {
			s.Data["expiration"] = []byte(now.Add(-time.Second).Format(time.RFC3339))
		}},
		{name: "unreadable expiration", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { s.Data["expiration"] = []byte("tomorrow") }},
		{name: "not for authentication", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { delete(s.Data, "usage-bootstrap-authentication") }},
		{name: "usage not true", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { s.Data["usage-bootstrap-authentication"] = []byte("yes") }},
		{name: "another type", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { s.Type = "Opaque" }},
		{name: "id mismatch", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { s.Data["token-id"] = []byte("zzzzzz") }},
		{name: "being deleted", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) { s.Metadata.DeletionTimestamp = timestamppb.New(now) }},
		{name: "extra group outside system:bootstrappers", token: "abcdef.0123456789abcdef", change: func(s *corev1.Secret) {
			s.Data["auth-extra-groups"] = []byte("system:masters")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := proto.Clone(valid).(*corev1.Secret)
			if tc.change != nil {
				tc.change(s)
			}
			u, ok, _ := withSecrets(s).AuthenticateToken(context.Background(), tc.token)
			if ok != (tc.user != "") {
				t.Fatalf("accepted = %v, want %v", ok, tc.user != "")
			}
			if ok && (u.Name != tc.user || !slices.Equal(u.Groups, tc.groups)) {
				t.Errorf("user %q in %q, want %q in %q", u.Name, u.Groups, tc.user, tc.groups)
			}
		})
	}
}

// secretsBackend serves one list and then a watch the test feeds.
type secretsBackend struct {
	registry.Backend
	items  []*corev1.Secret
	events chan registry.Event
	asked  []registry.ListOptions
}

func (b *secretsBackend) List(_ context.Context, ns string, opts registry.ListOptions) (proto.Message, error) {
	b.asked = append(b.asked, opts)
	return &corev1.SecretList{Metadata: &metav1.ListMeta{ResourceVersion: "7"}, Items: b.items}, nil
}

func (b *secretsBackend) Watch(_ context.Context, ns string, opts registry.ListOptions) (registry.Watcher, error) {
	return watcher(b.events), nil
}

type watcher chan registry.Event

func (w watcher) ResultChan() <-chan registry.Event { return w }
func (w watcher) Stop()                             {}

// TestFollowsSecrets: a token works once its Secret is listed or added,
// and stops working when the Secret goes.
func TestFollowsSecrets(t *testing.T) {
	first := bootstraptoken.Secret("aaaaaa", "0123456789abcdef", time.Time{})
	second := bootstraptoken.Secret("bbbbbb", "0123456789abcdef", time.Time{})
	b := &secretsBackend{items: []*corev1.Secret{first}, events: make(chan registry.Event)}
	a := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Start(ctx, b); err != nil {
		t.Fatal(err)
	}
	if b.asked[0].FieldSelector != "type=bootstrap.kubernetes.io/token" {
		t.Errorf("listed %+v, want only bootstrap token secrets", b.asked[0])
	}
	accepts := func(token string) bool {
		_, ok, _ := a.AuthenticateToken(ctx, token)
		return ok
	}
	if !accepts("aaaaaa.0123456789abcdef") || accepts("bbbbbb.0123456789abcdef") {
		t.Fatal("after the list: want the first token only")
	}
	b.events <- registry.Event{Type: registry.Added, Object: second}
	b.events <- registry.Event{Type: registry.Deleted, Object: first}
	b.events <- registry.Event{Type: registry.Bookmark, Object: &corev1.Secret{Metadata: &metav1.ObjectMeta{ResourceVersion: "9"}}}
	if accepts("aaaaaa.0123456789abcdef") || !accepts("bbbbbb.0123456789abcdef") {
		t.Fatal("after the events: want the second token only")
	}
}
