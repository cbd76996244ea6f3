package resourcequota

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/quota"
)

func qs(kv ...string) map[string]*metav1.Quantity {
	out := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return out
}

func TestStatus(t *testing.T) {
	counted := quota.FromProto(qs("pods", "1", "requests.cpu", "500m"))
	cases := []struct {
		name      string
		q         *corev1.ResourceQuota
		wantUsed  string
		wantDirty bool
	}{
		{"new quota", &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: qs("pods", "2", "requests.cpu", "1")}},
			"pods=1,requests.cpu=500m", true},
		{"current", &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: qs("pods", "2", "requests.cpu", "1")},
			Status: &corev1.ResourceQuotaStatus{Hard: qs("pods", "2", "requests.cpu", "1000m"), Used: qs("pods", "1", "requests.cpu", "0.5")}},
			"pods=1,requests.cpu=500m", false},
		{"hard changed", &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: qs("pods", "3", "requests.cpu", "1")},
			Status: &corev1.ResourceQuotaStatus{Hard: qs("pods", "2", "requests.cpu", "1"), Used: qs("pods", "1", "requests.cpu", "500m")}},
			"pods=1,requests.cpu=500m", true},
		// A resource that could not be counted keeps its use; one no
		// longer limited is dropped.
		{"uncounted and dropped", &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: qs("pods", "2", "requests.cpu", "1", "count/widgets.example.com", "3")},
			Status: &corev1.ResourceQuotaStatus{Hard: qs("pods", "2"), Used: qs("pods", "2", "count/widgets.example.com", "2", "services", "1")}},
			"count/widgets.example.com=2,pods=1,requests.cpu=500m", true},
	}
	for _, c := range cases {
		st, dirty := Status(c.q, counted)
		if got := quota.FromProto(st.GetUsed()).String(); got != c.wantUsed || dirty != c.wantDirty {
			t.Errorf("%s: got used %s dirty %v, want %s %v", c.name, got, dirty, c.wantUsed, c.wantDirty)
		}
		if !quota.Equal(quota.FromProto(st.GetHard()), quota.FromProto(c.q.GetSpec().GetHard())) {
			t.Errorf("%s: status.hard %v, want the spec's", c.name, st.GetHard())
		}
	}
}

func TestPodReleases(t *testing.T) {
	now := time.Now()
	running := &corev1.Pod{Metadata: &metav1.ObjectMeta{}, Spec: &corev1.PodSpec{}, Status: &corev1.PodStatus{Phase: "Running"}}
	with := func(change func(p *corev1.Pod)) *corev1.Pod {
		p := proto.Clone(running).(*corev1.Pod)
		change(p)
		return p
	}
	cases := []struct {
		name string
		p    *corev1.Pod
		want bool
	}{
		{"unchanged", with(func(p *corev1.Pod) { p.Metadata.Labels = map[string]string{"a": "b"} }), false},
		{"succeeded", with(func(p *corev1.Pod) { p.Status.Phase = "Succeeded" }), true},
		{"failed", with(func(p *corev1.Pod) { p.Status.Phase = "Failed" }), true},
		{"deadline set", with(func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = proto.Int64(10) }), true},
		{"deleting, within its grace", with(func(p *corev1.Pod) {
			p.Metadata.DeletionTimestamp, p.Metadata.DeletionGracePeriodSeconds = timestamppb.New(now), proto.Int64(30)
		}), false},
		{"deleting, past its grace", with(func(p *corev1.Pod) {
			p.Metadata.DeletionTimestamp, p.Metadata.DeletionGracePeriodSeconds = timestamppb.New(now.Add(-time.Minute)), proto.Int64(30)
		}), true},
	}
	for _, c := range cases {
		if got := PodReleases(running, c.p, now); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
