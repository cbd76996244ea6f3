package app

import (
	"context"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"skiff.dev/services/apiserver/internal/etcd"
	"skiff.dev/services/apiserver/internal/kubernetesservice"
)

// TestKubernetesEndpointsFollowLeases: the kubernetes Service's
// endpoints list the apiservers whose leases are live, as
// kube-apiserver's lease reconciler does: another apiserver's address
// appears with its lease and goes once the lease runs out, this one's
// stays.
func TestKubernetesEndpointsFollowLeases(t *testing.T) {
	s := startServerWith(t, func(o *Options) { o.AdvertiseAddress = "192.0.2.10" })
	cfg, err := etcd.EmbeddedClientConfig(etcd.EmbeddedDir(s.dataDir))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Longer than a reconcile's interval (10s): a reconcile sees it live.
	other := &kubernetesservice.Leases{Client: cli, TTL: 12 * time.Second}
	if err := other.Renew(ctx, "192.0.2.99"); err != nil {
		t.Fatal(err)
	}
	waitForEndpoints(t, s, []string{"192.0.2.10", "192.0.2.99"})
	waitForEndpoints(t, s, []string{"192.0.2.10"})
}

// waitForEndpoints polls the kubernetes Endpoints until they list want.
func waitForEndpoints(t *testing.T, s *server, want []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got []string
	for {
		code, body := s.do("GET", "/api/v1/namespaces/default/endpoints/kubernetes", s.adminToken, "")
		got = nil
		if subsets, _ := dig(body, "subsets").([]any); code == 200 && len(subsets) == 1 {
			addrs, _ := subsets[0].(map[string]any)["addresses"].([]any)
			for _, a := range addrs {
				got = append(got, a.(map[string]any)["ip"].(string))
			}
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kubernetes endpoints %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
