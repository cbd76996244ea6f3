package quota

import (
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func list(kv ...string) List {
	out := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return FromProto(out)
}

func quantities(kv ...string) map[string]*metav1.Quantity {
	return list(kv...).Proto()
}

func container(name string, requests, limits []string) *corev1.Container {
	return &corev1.Container{Name: name, Resources: &corev1.ResourceRequirements{
		Requests: quantities(requests...), Limits: quantities(limits...)}}
}

func TestListMath(t *testing.T) {
	a, b := list("cpu", "500m", "memory", "1Gi", "pods", "1"), list("cpu", "1", "memory", "512Mi")
	if got := Add(a, b).String(); got != "cpu=1500m,memory=1536Mi,pods=1" {
		t.Errorf("Add: %s", got)
	}
	if got := SubtractNonNegative(a, b).String(); got != "cpu=0,memory=512Mi,pods=1" {
		t.Errorf("SubtractNonNegative: %s", got)
	}
	if ok, over := LessThanOrEqual(list("cpu", "1500m", "pods", "1"), list("cpu", "1", "pods", "2", "memory", "1")); ok || !slices.Equal(over, []string{"cpu"}) {
		t.Errorf("LessThanOrEqual: %v %v", ok, over)
	}
	if !Equal(list("cpu", "1000m"), list("cpu", "1")) || Equal(list("cpu", "1"), list("cpu", "1", "pods", "0")) {
		t.Error("Equal compares values and names")
	}
	if got := RemoveZeros(list("cpu", "0", "pods", "1")).String(); got != "pods=1" {
		t.Errorf("RemoveZeros: %s", got)
	}
	if got := Negative(list("cpu", "-1", "pods", "1")); !slices.Equal(got, []string{"cpu"}) {
		t.Errorf("Negative: %v", got)
	}
	if got := Mask(a, []string{"pods", "services"}).String(); got != "pods=1" {
		t.Errorf("Mask: %s", got)
	}
}

func TestPodRequestsAndLimits(t *testing.T) {
	spec := &corev1.PodSpec{
		Containers: []*corev1.Container{
			container("app", []string{"cpu", "500m", "memory", "128Mi"}, []string{"cpu", "1", "memory", "256Mi"}),
			container("log", []string{"cpu", "100m"}, nil),
		},
		InitContainers: []*corev1.Container{
			// A sidecar runs with the containers and during later init
			// containers.
			func() *corev1.Container {
				c := container("proxy", []string{"cpu", "200m", "memory", "64Mi"}, []string{"memory", "64Mi"})
				c.RestartPolicy = proto.String("Always")
				return c
			}(),
			container("migrate", []string{"cpu", "2", "memory", "64Mi"}, []string{"cpu", "3"}),
		},
		Overhead: quantities("cpu", "50m", "memory", "10Mi"),
	}
	// requests: containers 600m + sidecar 200m = 800m; the init container
	// needs 2 + 200m = 2200m, more; plus 50m overhead. memory: 128Mi +
	// 64Mi, more than the init container's 64Mi + 64Mi; plus 10Mi.
	if got := PodRequests(spec).String(); got != "cpu=2250m,memory=202Mi" {
		t.Errorf("PodRequests: %s", got)
	}
	// limits: cpu 1 vs the init container's 3: 3, plus overhead; memory
	// 256Mi + 64Mi, plus overhead.
	if got := PodLimits(spec).String(); got != "cpu=3050m,memory=330Mi" {
		t.Errorf("PodLimits: %s", got)
	}
}

func pod(phase string, containers ...*corev1.Container) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: &corev1.PodSpec{Containers: containers}, Status: &corev1.PodStatus{Phase: phase}}
}

func TestPodUsage(t *testing.T) {
	now := time.Now()
	e := For("", "pods")
	running := pod("Running", container("a", []string{"cpu", "250m", "memory", "64Mi", "hugepages-2Mi", "4Mi", "example.com/gpu", "1"},
		[]string{"cpu", "500m", "memory", "64Mi", "hugepages-2Mi", "4Mi", "example.com/gpu", "1"}))
	got, err := e.Usage(running, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "count/pods=1,cpu=250m,hugepages-2Mi=4Mi,limits.cpu=500m,limits.memory=64Mi,memory=64Mi,pods=1," +
		"requests.cpu=250m,requests.example.com/gpu=1,requests.hugepages-2Mi=4Mi,requests.memory=64Mi"
	if got.String() != want {
		t.Errorf("running pod:\n got %s\nwant %s", got, want)
	}
	for _, phase := range []string{"Succeeded", "Failed"} {
		got, _ := e.Usage(pod(phase, container("a", []string{"cpu", "1"}, nil)), now)
		if got.String() != "count/pods=1" {
			t.Errorf("%s pod: got %s, want only its count", phase, got)
		}
	}
	stuck := pod("Running", container("a", []string{"cpu", "1"}, nil))
	stuck.Metadata.DeletionTimestamp = timestamppb.New(now.Add(-time.Minute))
	stuck.Metadata.DeletionGracePeriodSeconds = proto.Int64(30)
	if got, _ := e.Usage(stuck, now); got.String() != "count/pods=1" {
		t.Errorf("pod past its deletion grace period: got %s, want only its count", got)
	}
	stuck.Metadata.DeletionGracePeriodSeconds = proto.Int64(300)
	if got, _ := e.Usage(stuck, now); got.String() != "count/pods=1,cpu=1,pods=1,requests.cpu=1" {
		t.Errorf("pod within its deletion grace period: got %s", got)
	}
}

func TestPodConstraints(t *testing.T) {
	e := For("", "pods")
	p := pod("", container("web", []string{"cpu", "1"}, []string{"cpu", "1"}), container("log", nil, nil))
	p.Spec.InitContainers = []*corev1.Container{container("init", []string{"memory", "1Mi"}, nil)}
	err := e.Constraints([]string{"pods", "requests.cpu", "limits.memory", "requests.storage"}, p)
	const want = "must specify limits.memory for: init,log,web; requests.cpu for: init,log"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if err := e.Constraints([]string{"pods", "count/pods"}, p); err != nil {
		t.Errorf("pods alone need no requests: %v", err)
	}
}

func TestPodScopes(t *testing.T) {
	e := For("", "pods")
	best := pod("")
	burst := pod("", container("a", []string{"cpu", "1"}, nil))
	deadline := pod("")
	deadline.Spec.ActiveDeadlineSeconds = proto.Int64(60)
	high := pod("")
	high.Spec.PriorityClassName = proto.String("high")
	affinity := pod("")
	affinity.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.WeightedPodAffinityTerm{
			{PodAffinityTerm: &corev1.PodAffinityTerm{Namespaces: []string{"other"}, TopologyKey: "zone"}}}}}
	sel := func(scope, op string, values ...string) *corev1.ScopedResourceSelectorRequirement {
		return &corev1.ScopedResourceSelectorRequirement{ScopeName: scope, Operator: op, Values: values}
	}
	cases := []struct {
		s    *corev1.ScopedResourceSelectorRequirement
		pod  *corev1.Pod
		want bool
	}{
		{sel("BestEffort", "Exists"), best, true},
		{sel("BestEffort", "Exists"), burst, false},
		{sel("NotBestEffort", "Exists"), burst, true},
		{sel("Terminating", "Exists"), deadline, true},
		{sel("Terminating", "Exists"), best, false},
		{sel("NotTerminating", "Exists"), best, true},
		{sel("PriorityClass", "Exists"), high, true},
		{sel("PriorityClass", "Exists"), best, false},
		{sel("PriorityClass", "In", "high", "mid"), high, true},
		{sel("PriorityClass", "In", "low"), high, false},
		{sel("PriorityClass", "NotIn", "low"), best, true},
		{sel("PriorityClass", "DoesNotExist"), best, true},
		{sel("CrossNamespacePodAffinity", "Exists"), affinity, true},
		{sel("CrossNamespacePodAffinity", "Exists"), best, false},
	}
	for _, c := range cases {
		got, err := e.MatchesScope(c.s, c.pod)
		if err != nil || got != c.want {
			t.Errorf("%s %s %v: got %v %v, want %v", c.s.GetScopeName(), c.s.GetOperator(), c.s.GetValues(), got, err, c.want)
		}
	}
	withStatus := pod("")
	withStatus.Status.QosClass = "Burstable"
	if ok, _ := e.MatchesScope(sel("BestEffort", "Exists"), withStatus); ok {
		t.Error("the QoS class of the status wins over the spec")
	}
}

func TestServiceUsage(t *testing.T) {
	e := For("", "services")
	ports := []*corev1.ServicePort{{Port: 80}, {Port: 443, NodePort: 30443}}
	cases := []struct {
		typ   string
		alloc *bool
		want  string
	}{
		{"ClusterIP", nil, "count/services=1,services=1,services.loadbalancers=0,services.nodeports=0"},
		{"NodePort", nil, "count/services=1,services=1,services.loadbalancers=0,services.nodeports=2"},
		{"LoadBalancer", nil, "count/services=1,services=1,services.loadbalancers=1,services.nodeports=2"},
		{"LoadBalancer", proto.Bool(false), "count/services=1,services=1,services.loadbalancers=1,services.nodeports=1"},
	}
	for _, c := range cases {
		svc := &corev1.Service{Spec: &corev1.ServiceSpec{Type: c.typ, Ports: ports, AllocateLoadBalancerNodePorts: c.alloc}}
		got, err := e.Usage(svc, time.Now())
		if err != nil || got.String() != c.want {
			t.Errorf("%s: got %s %v, want %s", c.typ, got, err, c.want)
		}
	}
	if !e.Handles(Update, "", nil, nil) || e.Handles(Update, "status", nil, nil) {
		t.Error("services are charged on create and update, not on status writes")
	}
}

func TestObjectCounts(t *testing.T) {
	cm := For("", "configmaps")
	got, _ := cm.Usage(&corev1.ConfigMap{}, time.Now())
	if got.String() != "configmaps=1,count/configmaps=1" {
		t.Errorf("configmaps: %s", got)
	}
	deploy := For("apps", "deployments")
	if got := deploy.MatchingResources([]string{"pods", "count/deployments.apps"}); !slices.Equal(got, []string{"count/deployments.apps"}) {
		t.Errorf("deployments: %v", got)
	}
	if !deploy.Handles(Create, "", nil, nil) || deploy.Handles(Update, "", nil, nil) {
		t.Error("object counts change only on create")
	}
}

func TestMatches(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Scopes: []string{"BestEffort"}},
		Status: &corev1.ResourceQuotaStatus{Hard: quantities("pods", "2")}}
	e := For("", "pods")
	if ok, _ := Matches(e, q, pod("")); !ok {
		t.Error("a best-effort pod matches a BestEffort quota of pods")
	}
	if ok, _ := Matches(e, q, pod("", container("a", []string{"memory", "1Mi"}, nil))); ok {
		t.Error("a burstable pod does not match a BestEffort quota")
	}
	if ok, _ := Matches(For("", "configmaps"), q, &corev1.ConfigMap{}); ok {
		t.Error("a quota of pods does not match configmaps")
	}
	noStatus := &corev1.ResourceQuota{Spec: &corev1.ResourceQuotaSpec{Hard: quantities("pods", "2")}}
	if ok, _ := Matches(e, noStatus, pod("")); ok {
		t.Error("only the enforced limits (status.hard) match")
	}
}

func TestCalculateUsage(t *testing.T) {
	objects := map[string][]proto.Message{
		"/pods": {
			pod("Running", container("a", []string{"cpu", "500m"}, []string{"cpu", "1"})),
			pod("Pending", container("a", []string{"cpu", "250m"}, []string{"cpu", "250m"})),
			pod("Succeeded", container("a", []string{"cpu", "4"}, []string{"cpu", "4"})),
		},
		"/services":        {&corev1.Service{Spec: &corev1.ServiceSpec{Type: "NodePort", Ports: []*corev1.ServicePort{{Port: 80}}}}},
		"/configmaps":      {&corev1.ConfigMap{}, &corev1.ConfigMap{}},
		"apps/replicasets": {},
	}
	lister := func(group, resource, namespace string) ([]proto.Message, error) {
		if namespace != "ns" {
			t.Errorf("listed namespace %q", namespace)
		}
		if resource == "secrets" {
			return nil, errors.New("no secrets")
		}
		return objects[group+"/"+resource], nil
	}
	q := &corev1.ResourceQuota{Metadata: &metav1.ObjectMeta{Name: "q", Namespace: "ns"}, Spec: &corev1.ResourceQuotaSpec{
		Hard: quantities("pods", "10", "count/pods", "10", "requests.cpu", "4", "limits.cpu", "4", "services.nodeports", "5",
			"configmaps", "5", "count/replicasets.apps", "3", "secrets", "3", "requests.storage", "1Gi")}}
	used, err := CalculateUsage(q, lister, time.Now())
	if err == nil {
		t.Error("the secrets' list error is reported")
	}
	const want = "configmaps=2,count/pods=3,count/replicasets.apps=0,limits.cpu=1250m,pods=2,requests.cpu=750m,services.nodeports=1"
	if used.String() != want {
		t.Errorf("got  %s\nwant %s", used, want)
	}

	q.Spec.Scopes = []string{"NotTerminating"}
	q.Spec.Hard = quantities("pods", "10", "services", "3")
	used, err = CalculateUsage(q, lister, time.Now())
	if err != nil || used.String() != "pods=2,services=0" {
		t.Errorf("scoped: got %s %v, want pods=2, services=0 (services are in no scope)", used, err)
	}
}
