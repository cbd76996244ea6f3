package app

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/clock"
)

// fakeTokenAPI answers TokenRequests with numbered tokens.
type fakeTokenAPI struct {
	clk  *clock.Fake
	fail bool
	reqs []*authenticationv1.TokenRequest
	who  []string // namespace/serviceaccount of each request
}

func (f *fakeTokenAPI) create(_ context.Context, namespace, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	if f.fail {
		return nil, errors.New("apiserver unreachable")
	}
	f.reqs = append(f.reqs, req)
	f.who = append(f.who, namespace+"/"+name)
	out := proto.Clone(req).(*authenticationv1.TokenRequest)
	out.Status = &authenticationv1.TokenRequestStatus{
		Token:               fmt.Sprintf("token-%d", len(f.reqs)),
		ExpirationTimestamp: timestamppb.New(f.clk.Now().Add(time.Duration(req.GetSpec().GetExpirationSeconds()) * time.Second)),
	}
	return out, nil
}

func tokenPod(name, uid, sa string) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "shop", Name: name, Uid: uid},
		Spec: &corev1.PodSpec{ServiceAccountName: proto.String(sa)}}
}

func TestTokensAreBoundCachedAndRefreshed(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	api := &fakeTokenAPI{clk: clk}
	tm := newTokensWith(api.create, clk)
	tm.jitter = func() time.Duration { return 0 }
	ctx := context.Background()
	web := tokenPod("web", "uid-1", "")
	get := func(pod *corev1.Pod, aud string, exp int64) string {
		t.Helper()
		tok, err := tm.Token(ctx, pod, aud, exp)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	if got := get(web, "vault", 3607); got != "token-1" {
		t.Fatalf("first token %q", got)
	}
	r := api.reqs[0].GetSpec()
	ref := r.GetBoundObjectRef()
	if api.who[0] != "shop/default" || len(r.GetAudiences()) != 1 || r.GetAudiences()[0] != "vault" || r.GetExpirationSeconds() != 3607 ||
		ref.GetKind() != "Pod" || ref.GetApiVersion() != "v1" || ref.GetName() != "web" || ref.GetUid() != "uid-1" {
		t.Fatalf("request for %s: %v", api.who[0], r)
	}
	// Cached until 80% of the lifetime has passed.
	clk.Step(2880 * time.Second)
	if got := get(web, "vault", 3607); got != "token-1" || len(api.reqs) != 1 {
		t.Fatalf("at 80%% of the lifetime: got %q after %d requests, want the cached token", got, len(api.reqs))
	}
	clk.Step(10 * time.Second)
	if got := get(web, "vault", 3607); got != "token-2" {
		t.Fatalf("past 80%% of the lifetime: got %q, want a refreshed token", got)
	}
	// Each audience, lifetime and pod has its own token; no audience asks
	// for the apiserver's.
	if get(web, "", 3607) != "token-3" || len(api.reqs[2].GetSpec().GetAudiences()) != 0 {
		t.Fatalf("no audience: %v", api.reqs[2].GetSpec())
	}
	if get(tokenPod("api", "uid-2", "builder"), "vault", 3607) != "token-4" || api.who[3] != "shop/builder" {
		t.Fatalf("second pod: %v", api.who)
	}
	// A failed refresh falls back to the cached token while it is valid.
	clk.Step(3000 * time.Second)
	api.fail = true
	if got := get(web, "vault", 3607); got != "token-2" {
		t.Fatalf("refresh failed: got %q, want the cached token", got)
	}
	clk.Step(3000 * time.Second)
	if _, err := tm.Token(ctx, web, "vault", 3607); err == nil {
		t.Fatal("refresh failed with the cached token expired: got a token, want an error")
	}
}

func TestLongTokensAreRefreshedDaily(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	api := &fakeTokenAPI{clk: clk}
	tm := newTokensWith(api.create, clk)
	tm.jitter = func() time.Duration { return 0 }
	pod := tokenPod("web", "uid-1", "default")
	week := int64(7 * 24 * 3600)
	for _, step := range []time.Duration{0, 23 * time.Hour, 2 * time.Hour} {
		clk.Step(step)
		if _, err := tm.Token(context.Background(), pod, "", week); err != nil {
			t.Fatal(err)
		}
	}
	if len(api.reqs) != 2 {
		t.Fatalf("a week-long token over 25 hours: %d requests, want 2 (refreshed after 24h)", len(api.reqs))
	}
}

func TestTokensOfGonePodsAreDropped(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	api := &fakeTokenAPI{clk: clk}
	tm := newTokensWith(api.create, clk)
	ctx := context.Background()
	a, b := tokenPod("a", "uid-a", "default"), tokenPod("b", "uid-b", "default")
	for _, p := range []*corev1.Pod{a, b} {
		if _, err := tm.Token(ctx, p, "", 600); err != nil {
			t.Fatal(err)
		}
	}
	tm.Forget("uid-a")
	if _, ok := tm.cache[tokenKey{podUID: "uid-a", expirationSeconds: 600}]; ok || len(tm.cache) != 1 {
		t.Fatalf("after Forget: %d cached, want only b's", len(tm.cache))
	}
	// b is never asked for again: its token expires from the cache.
	clk.Step(601 * time.Second)
	if _, err := tm.Token(ctx, tokenPod("c", "uid-c", "default"), "", 600); err != nil {
		t.Fatal(err)
	}
	if _, ok := tm.cache[tokenKey{podUID: "uid-b", expirationSeconds: 600}]; ok || len(tm.cache) != 1 {
		t.Fatalf("after b's token expired: %d cached, want only c's", len(tm.cache))
	}
}
