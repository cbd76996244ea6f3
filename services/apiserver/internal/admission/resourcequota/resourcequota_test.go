package resourcequota

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/quota"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

func qs(kv ...string) map[string]*metav1.Quantity {
	out := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return out
}

// rq is a quota whose status holds hard and used.
func rq(name string, hard, used map[string]*metav1.Quantity, scopes ...string) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1"},
		Spec:   &corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes},
		Status: &corev1.ResourceQuotaStatus{Hard: hard, Used: used}}
}

func pod(requests, limits map[string]*metav1.Quantity) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "x", Namespace: "ns"}, Spec: &corev1.PodSpec{
		Containers: []*corev1.Container{{Name: "web", Resources: &corev1.ResourceRequirements{Requests: requests, Limits: limits}}}}}
}

var (
	podsRes       = &registry.Resource{Plural: "pods", Kind: "Pod", Namespaced: true}
	servicesRes   = &registry.Resource{Plural: "services", Kind: "Service", Namespaced: true}
	configMapsRes = &registry.Resource{Plural: "configmaps", Kind: "ConfigMap", Namespaced: true}
)

func create(res *registry.Resource, name string, obj proto.Message) *registry.Write {
	return &registry.Write{Operation: registry.OpCreate, Resource: res, Namespace: "ns", Name: name, Object: obj}
}

func TestCheck(t *testing.T) {
	now := time.Now()
	burstable := pod(qs("cpu", "500m", "memory", "64Mi"), qs("cpu", "1"))
	tests := []struct {
		name   string
		quotas []*corev1.ResourceQuota
		w      *registry.Write
		// want is the refusal, or else the quotas' use afterwards.
		want     string
		wantUsed []string
	}{
		{"fits", []*corev1.ResourceQuota{rq("q", qs("pods", "2", "requests.cpu", "1", "limits.cpu", "2"), qs("pods", "1", "requests.cpu", "0", "limits.cpu", "0"))},
			create(podsRes, "x", burstable), "", []string{"limits.cpu=1,pods=2,requests.cpu=500m"}},
		{"over pods", []*corev1.ResourceQuota{rq("q", qs("pods", "2"), qs("pods", "2"))},
			create(podsRes, "x", burstable), `pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`, nil},
		{"over several", []*corev1.ResourceQuota{rq("q", qs("pods", "5", "requests.cpu", "1", "limits.cpu", "1", "requests.memory", "1Gi"),
			qs("pods", "1", "requests.cpu", "600m", "limits.cpu", "500m", "requests.memory", "0"))},
			create(podsRes, "x", burstable), `pods "x" is forbidden: exceeded quota: q, requested: limits.cpu=1,requests.cpu=500m, used: limits.cpu=500m,requests.cpu=600m, limited: limits.cpu=1,requests.cpu=1`, nil},
		{"must specify", []*corev1.ResourceQuota{rq("q", qs("pods", "2", "requests.memory", "1Gi", "limits.memory", "1Gi"), qs("pods", "0", "requests.memory", "0", "limits.memory", "0"))},
			create(podsRes, "x", burstable), `pods "x" is forbidden: failed quota: q: must specify limits.memory for: web`, nil},
		{"status unknown", []*corev1.ResourceQuota{rq("q", qs("pods", "2", "count/pods", "2"), qs("pods", "0"))},
			create(podsRes, "x", burstable), `pods "x" is forbidden: status unknown for quota: q, resources: count/pods,pods`, nil},
		{"only matching quotas", []*corev1.ResourceQuota{
			rq("best-effort", qs("pods", "0"), qs("pods", "0"), "BestEffort"),
			rq("services", qs("services", "1"), qs("services", "1")),
			rq("burstable", qs("pods", "1"), qs("pods", "0"), "NotBestEffort")},
			create(podsRes, "x", burstable), "", []string{"pods=0", "services=1", "pods=1"}},
		{"object count", []*corev1.ResourceQuota{rq("q", qs("count/configmaps", "1", "configmaps", "3"), qs("count/configmaps", "1", "configmaps", "1"))},
			create(configMapsRes, "c", &corev1.ConfigMap{}), `configmaps "c" is forbidden: exceeded quota: q, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1`, nil},
		{"service update to NodePort", []*corev1.ResourceQuota{rq("q", qs("services", "2", "services.nodeports", "2"), qs("services", "1", "services.nodeports", "0"))},
			&registry.Write{Operation: registry.OpUpdate, Resource: servicesRes, Namespace: "ns", Name: "s",
				Object: &corev1.Service{Spec: &corev1.ServiceSpec{Type: "NodePort", Ports: []*corev1.ServicePort{{Port: 80}, {Port: 443}}}},
				Old:    &corev1.Service{Spec: &corev1.ServiceSpec{Type: "ClusterIP", Ports: []*corev1.ServicePort{{Port: 80}, {Port: 443}}}}},
			"", []string{"services=1,services.nodeports=2"}},
		{"a terminal pod uses its count only", []*corev1.ResourceQuota{rq("q", qs("pods", "0", "count/pods", "1"), qs("pods", "0", "count/pods", "0"))},
			create(podsRes, "x", func() *corev1.Pod { p := pod(nil, nil); p.Status = &corev1.PodStatus{Phase: "Succeeded"}; return p }()),
			"", []string{"count/pods=1,pods=0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := quota.For(tt.w.Resource.Group, tt.w.Resource.Plural)
			before := make([]*corev1.ResourceQuota, len(tt.quotas))
			for i, q := range tt.quotas {
				before[i] = proto.Clone(q).(*corev1.ResourceQuota)
			}
			out, err := Check(tt.quotas, tt.w, e, now)
			if tt.want != "" {
				if err == nil || err.Error() != tt.want || !apierrors.IsForbidden(err) {
					t.Fatalf("got %v\nwant 403 %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range out {
				if got := quota.FromProto(q.GetStatus().GetUsed()).String(); got != tt.wantUsed[i] {
					t.Errorf("quota %s used: got %s, want %s", q.GetMetadata().GetName(), got, tt.wantUsed[i])
				}
				if !proto.Equal(tt.quotas[i], before[i]) {
					t.Errorf("quota %s was changed in place", q.GetMetadata().GetName())
				}
			}
		})
	}
}

// quotaStore is a resourcequotas backend that keeps quotas in memory and
// writes their status with compare-and-swap, as storage does.
type quotaStore struct {
	registry.Backend
	mu     sync.Mutex
	byName map[string]*corev1.ResourceQuota
	rev    int64
	writes int
	// beforeWrite runs before each status write (another writer racing).
	beforeWrite func(s *quotaStore)
}

func newQuotaStore(quotas ...*corev1.ResourceQuota) *quotaStore {
	s := &quotaStore{byName: map[string]*corev1.ResourceQuota{}, rev: 1}
	for _, q := range quotas {
		s.byName[q.GetMetadata().GetName()] = q
	}
	return s
}

func (s *quotaStore) bump(name string, change func(*corev1.ResourceQuota)) {
	s.rev++
	q := s.byName[name]
	change(q)
	q.Metadata.ResourceVersion = strconv.FormatInt(s.rev, 10)
}

func (s *quotaStore) Get(_ context.Context, _, name string, _ registry.GetOptions) (proto.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.byName[name]
	if !ok {
		return nil, apierrors.NewNotFound(apierrors.Resource{Resource: "resourcequotas"}, name)
	}
	return proto.Clone(q), nil
}

func (s *quotaStore) UpdateStatus(_ context.Context, obj proto.Message, _ registry.UpdateOptions) (proto.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.beforeWrite != nil {
		s.beforeWrite(s)
	}
	in := obj.(*corev1.ResourceQuota)
	name := in.GetMetadata().GetName()
	cur := s.byName[name]
	if in.GetMetadata().GetResourceVersion() != cur.GetMetadata().GetResourceVersion() {
		return nil, apierrors.NewConflict(apierrors.Resource{Resource: "resourcequotas"}, name, apierrors.ConflictModified)
	}
	s.writes++
	s.bump(name, func(q *corev1.ResourceQuota) { q.Status = proto.Clone(in.GetStatus()).(*corev1.ResourceQuotaStatus) })
	return proto.Clone(s.byName[name]), nil
}

func TestChargeRetriesAConflict(t *testing.T) {
	store := newQuotaStore(rq("q", qs("pods", "2"), qs("pods", "0")))
	a := New(store)
	ctx := context.Background()
	quotas := []*corev1.ResourceQuota{proto.Clone(store.byName["q"]).(*corev1.ResourceQuota)}
	// Another writer (the controller) counts a pod meanwhile.
	raced := false
	store.beforeWrite = func(s *quotaStore) {
		if !raced {
			raced = true
			s.bump("q", func(q *corev1.ResourceQuota) { q.Status.Used = qs("pods", "1") })
		}
	}
	w := create(podsRes, "x", pod(nil, nil))
	if err := a.charge(ctx, w, quota.For("", "pods"), quotas, retries); err != nil {
		t.Fatalf("charge after a conflict: %v", err)
	}
	if got := store.byName["q"].GetStatus().GetUsed()["pods"].GetString_(); got != "2" || store.writes != 1 {
		t.Errorf("used pods %s after %d writes, want 2 after 1", got, store.writes)
	}
	// Now the quota is full: the next pod is refused.
	err := a.charge(ctx, w, quota.For("", "pods"), []*corev1.ResourceQuota{proto.Clone(store.byName["q"]).(*corev1.ResourceQuota)}, retries)
	if err == nil || err.Error() != `pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2` {
		t.Errorf("got %v", err)
	}
}

func TestChargeGivesUpAfterRetries(t *testing.T) {
	store := newQuotaStore(rq("q", qs("pods", "10"), qs("pods", "0")))
	store.beforeWrite = func(s *quotaStore) { s.bump("q", func(*corev1.ResourceQuota) {}) }
	a := New(store)
	err := a.charge(context.Background(), create(podsRes, "x", pod(nil, nil)), quota.For("", "pods"),
		[]*corev1.ResourceQuota{proto.Clone(store.byName["q"]).(*corev1.ResourceQuota)}, retries)
	if !apierrors.IsConflict(err) {
		t.Errorf("got %v, want the last conflict", err)
	}
}

func TestDryRunIsNotCharged(t *testing.T) {
	store := newQuotaStore(rq("q", qs("pods", "1"), qs("pods", "0")))
	a := New(store)
	w := create(podsRes, "x", pod(nil, nil))
	w.DryRun = true
	if err := a.charge(context.Background(), w, quota.For("", "pods"), []*corev1.ResourceQuota{proto.Clone(store.byName["q"]).(*corev1.ResourceQuota)}, retries); err != nil {
		t.Fatal(err)
	}
	if store.writes != 0 {
		t.Errorf("a dry run wrote the quota %d times", store.writes)
	}
}

func TestQuotasOfPrefersNewerWrites(t *testing.T) {
	a := New(newQuotaStore())
	old := rq("q", qs("pods", "2"), qs("pods", "0"))
	mine := rq("q", qs("pods", "2"), qs("pods", "1"))
	mine.Metadata.ResourceVersion = "5"
	a.cache.Set(old)
	a.remember(mine)
	if got := a.quotasOf("ns"); len(got) != 1 || got[0].GetMetadata().GetResourceVersion() != "5" {
		t.Errorf("got %v, want the version written here", got)
	}
	caughtUp := proto.Clone(mine).(*corev1.ResourceQuota)
	caughtUp.Metadata.ResourceVersion = "6"
	a.cache.Set(caughtUp)
	if got := a.quotasOf("ns"); got[0].GetMetadata().GetResourceVersion() != "6" || len(a.written) != 0 {
		t.Errorf("got %v with %d remembered, want the copy's newer version and nothing remembered", got, len(a.written))
	}
}
