package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

// TestLimitRangeDefaults: a pod created without resources in a namespace
// with a LimitRange gets its defaults (and the annotation saying so), and
// one whose container limits more than the range's max is refused with
// Kubernetes' 403.
func TestLimitRangeDefaults(t *testing.T) {
	s := startServer(t)
	s.expect("POST", "/api/v1/namespaces", s.adminToken, `{"metadata":{"name":"team"}}`, nil, 201, "")
	s.expect("POST", "/api/v1/namespaces/team/limitranges", s.adminToken, `{"metadata":{"name":"limits"},"spec":{"limits":[
		{"type":"Container","max":{"cpu":"1"},"default":{"cpu":"500m","memory":"256Mi"},"defaultRequest":{"cpu":"100m","memory":"128Mi"}}]}}`, nil, 201, "")

	code, pod := s.do("POST", "/api/v1/namespaces/team/pods", s.adminToken,
		`{"metadata":{"name":"web"},"spec":{"containers":[{"name":"web","image":"nginx"}]}}`)
	if code != 201 {
		t.Fatalf("create pod: %d %v", code, pod)
	}
	res := dig(pod, "spec", "containers").([]any)[0].(map[string]any)["resources"]
	if got := fmt.Sprint(res); got != "map[limits:map[cpu:500m memory:256Mi] requests:map[cpu:100m memory:128Mi]]" {
		t.Errorf("resources of the created pod: %s", got)
	}
	if got := dig(pod, "metadata", "annotations", "kubernetes.io/limit-ranger"); got != "LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web" {
		t.Errorf("annotation: %v", got)
	}

	s.expect("POST", "/api/v1/namespaces/team/pods", s.adminToken,
		`{"metadata":{"name":"big"},"spec":{"containers":[{"name":"web","image":"nginx","resources":{"limits":{"cpu":"2"}}}]}}`, nil, 403,
		`pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2`)
}

// TestResourceQuotaConcurrentCreates: with a quota of two pods, of many
// pods created at once exactly two are admitted, on both faces the others
// get Kubernetes' 403, and the quota's status counts the two.
func TestResourceQuotaConcurrentCreates(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	c := s.client(s.adminToken)
	s.expect("POST", "/api/v1/namespaces", s.adminToken, `{"metadata":{"name":"team"}}`, nil, 201, "")
	// The quota also allows no ConfigMap: a refused dry-run ConfigMap shows
	// that admission sees the quota's status.
	s.expect("POST", "/api/v1/namespaces/team/resourcequotas", s.adminToken,
		`{"metadata":{"name":"q"},"spec":{"hard":{"pods":"2","count/configmaps":"0"}}}`, nil, 201, "")
	quotas := client.For[*corev1.ResourceQuota, *corev1.ResourceQuotaList](c, "team")
	q, err := quotas.Get(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.GetStatus().GetHard()) != 0 {
		t.Fatalf("a new quota's status is the controller's to fill: %v", q.GetStatus())
	}
	// A quota without status constrains nothing; then write the status
	// the resourcequota controller would.
	cm := `{"metadata":{"name":"probe"}}`
	s.expect("POST", "/api/v1/namespaces/team/configmaps?dryRun=All", s.adminToken, cm, nil, 201, "")
	q.Status = &corev1.ResourceQuotaStatus{Hard: q.GetSpec().GetHard(),
		Used: map[string]*metav1.Quantity{"pods": {String_: "0"}, "count/configmaps": {String_: "0"}}}
	if _, err := quotas.UpdateStatus(ctx, q, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, func() bool {
		code, msg := s.doAs("POST", "/api/v1/namespaces/team/configmaps?dryRun=All", s.adminToken, cm, nil)
		return code == 403 && strings.Contains(msg, "exceeded quota: q")
	}, "admission sees the quota")

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "nginx"}}}}
			_, errs[i] = c.CoreV1().Pods("team").Create(ctx, p, client.WriteOptions{})
		})
	}
	wg.Wait()
	admitted := 0
	for i, err := range errs {
		want := fmt.Sprintf(`pods "p%d" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`, i)
		switch {
		case err == nil:
			admitted++
		case !client.IsForbidden(err) || err.Error() != want:
			t.Errorf("pod p%d: got %v, want nil or 403 %s", i, err, want)
		}
	}
	if admitted != 2 {
		t.Errorf("%d of %d pods admitted, want 2", admitted, n)
	}
	q, err = quotas.Get(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if got := q.GetStatus().GetUsed()["pods"].GetString_(); got != "2" {
		t.Errorf("status.used.pods = %q, want 2", got)
	}
	s.expect("POST", "/api/v1/namespaces/team/pods", s.adminToken,
		`{"metadata":{"name":"more"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`, nil, 403,
		`pods "more" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`)

	// A quota of cpu requests needs them on every container.
	s.expect("PUT", "/api/v1/namespaces/team/resourcequotas/q", s.adminToken, fmt.Sprintf(
		`{"metadata":{"name":"q","resourceVersion":%q},"spec":{"hard":{"pods":"5","requests.cpu":"1"}}}`, q.GetMetadata().GetResourceVersion()), nil, 200, "")
	q, err = quotas.Get(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	q.Status = &corev1.ResourceQuotaStatus{Hard: q.GetSpec().GetHard(),
		Used: map[string]*metav1.Quantity{"pods": {String_: "2"}, "requests.cpu": {String_: "0"}}}
	if _, err := quotas.UpdateStatus(ctx, q, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, func() bool {
		code, msg := s.doAs("POST", "/api/v1/namespaces/team/pods?dryRun=All", s.adminToken,
			`{"metadata":{"name":"bare"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`, nil)
		return code == 403 && msg == `pods "bare" is forbidden: failed quota: q: must specify requests.cpu for: c`
	}, "a pod without cpu requests is refused")
}
