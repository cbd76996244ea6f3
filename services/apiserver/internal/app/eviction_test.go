package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	skclient "skiff.dev/pkg/client"
)

// evictionEnv is an apiserver with pods that a stand-in for the kubelet
// reported Running and Ready, and budgets whose status the test writes as
// the disruption controller would.
type evictionEnv struct {
	t   *testing.T
	ctx context.Context
	c   *skclient.Client
	s   *server
	ns  string
}

func (e *evictionEnv) pod(name string, labels map[string]string) {
	e.t.Helper()
	pods := e.c.CoreV1().Pods(e.ns)
	p, err := pods.Create(e.ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: &corev1.PodSpec{NodeName: proto.String("node-a"), Containers: []*corev1.Container{{Name: "c", Image: "registry.local/c:v1"}}}}, skclient.WriteOptions{})
	if err != nil {
		e.t.Fatalf("create pod %s: %v", name, err)
	}
	p.Status = &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True"}}}
	if _, err := pods.UpdateStatus(e.ctx, p, skclient.WriteOptions{}); err != nil {
		e.t.Fatalf("report pod %s running: %v", name, err)
	}
}

// budget creates a PodDisruptionBudget selecting app=<app> and writes its
// status: allowed disruptions out of healthy pods.
func (e *evictionEnv) budget(name, app string, allowed, healthy, desired int32) {
	e.t.Helper()
	pdbs := e.c.PolicyV1().PodDisruptionBudgets(e.ns)
	min := &metav1.IntOrString{IntVal: desired}
	p, err := pdbs.Create(e.ctx, &policyv1.PodDisruptionBudget{Metadata: &metav1.ObjectMeta{Name: name},
		Spec: &policyv1.PodDisruptionBudgetSpec{MinAvailable: min,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}, skclient.WriteOptions{})
	if err != nil {
		e.t.Fatalf("create budget %s: %v", name, err)
	}
	p.Status = &policyv1.PodDisruptionBudgetStatus{ObservedGeneration: p.GetMetadata().GetGeneration(),
		DisruptionsAllowed: allowed, CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: healthy}
	if _, err := pdbs.UpdateStatus(e.ctx, p, skclient.WriteOptions{}); err != nil {
		e.t.Fatalf("write the status of budget %s: %v", name, err)
	}
}

func (e *evictionEnv) getPod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.c.CoreV1().Pods(e.ns).Get(e.ctx, name)
	if err != nil {
		e.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func (e *evictionEnv) getBudget(name string) *policyv1.PodDisruptionBudget {
	e.t.Helper()
	p, err := e.c.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, name)
	if err != nil {
		e.t.Fatalf("get budget %s: %v", name, err)
	}
	return p
}

// evict POSTs an Eviction of the pod (as kubectl drain does) and returns
// the answer.
func (e *evictionEnv) evict(pod, query, apiVersion string) (int, evictionStatus) {
	e.t.Helper()
	body := fmt.Sprintf(`{"apiVersion":%q,"kind":"Eviction","metadata":{"name":%q,"namespace":%q}}`, apiVersion, pod, e.ns)
	code, data := e.post("/api/v1/namespaces/"+e.ns+"/pods/"+pod+"/eviction"+query, body)
	var st evictionStatus
	if err := json.Unmarshal(data, &st); err != nil {
		e.t.Fatalf("the answer is not a Status: %v: %s", err, data)
	}
	return code, st
}

// post sends a JSON body as the admin and returns the answer's code and
// body.
func (e *evictionEnv) post(path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("POST", "https://"+e.s.addr+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.s.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.s.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

type evictionStatus struct {
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details struct {
		RetryAfterSeconds int `json:"retryAfterSeconds"`
		Causes            []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

func disruptionTarget(p *corev1.Pod) *corev1.PodCondition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "DisruptionTarget" {
			return c
		}
	}
	return nil
}

// TestEviction: pods/eviction, as Kubernetes' eviction REST behaves, on
// both faces.
func TestEviction(t *testing.T) {
	s := startServer(t) // no controller-manager: the test writes budget status
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := &evictionEnv{t: t, ctx: ctx, c: s.client(s.adminToken), s: s, ns: "default"}

	t.Run("a pod no budget covers is deleted, marked DisruptionTarget first", func(t *testing.T) {
		e.pod("free", map[string]string{"app": "free"})
		code, st := e.evict("free", "", "policy/v1")
		if code != http.StatusCreated || st.Status != "Success" {
			t.Fatalf("got %d %+v, want 201 Success", code, st)
		}
		p := e.getPod("free") // on a node: graceful deletion keeps it until the kubelet is done
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			t.Fatal("the evicted pod has no deletionTimestamp")
		}
		c := disruptionTarget(p)
		if c.GetStatus() != "True" || c.GetReason() != "EvictionByEvictionAPI" || c.GetMessage() != "Eviction API: evicting" {
			t.Errorf("DisruptionTarget condition: got %v, want True EvictionByEvictionAPI", c)
		}
	})

	e.pod("guarded-1", map[string]string{"app": "guarded"})
	e.pod("guarded-2", map[string]string{"app": "guarded"})
	e.budget("guarded", "guarded", 0, 2, 2)

	t.Run("a budget with no disruption left refuses with 429 and its cause", func(t *testing.T) {
		code, st := e.evict("guarded-1", "", "policy/v1")
		if code != http.StatusTooManyRequests || st.Reason != "TooManyRequests" || st.Code != 429 ||
			st.Message != "Cannot evict pod as it would violate the pod's disruption budget." {
			t.Fatalf("got %d %+v, want 429 TooManyRequests", code, st)
		}
		if len(st.Details.Causes) != 1 || st.Details.Causes[0].Reason != "DisruptionBudget" ||
			st.Details.Causes[0].Message != "The disruption budget guarded needs 2 healthy pods and has 2 currently" {
			t.Errorf("causes: got %+v, want the DisruptionBudget cause", st.Details.Causes)
		}
		if p := e.getPod("guarded-1"); p.GetMetadata().GetDeletionTimestamp() != nil || disruptionTarget(p) != nil {
			t.Errorf("a refused eviction touched the pod: %v", p.GetStatus().GetConditions())
		}
	})

	t.Run("gRPC: the refusal is ResourceExhausted carrying the same Status", func(t *testing.T) {
		err := e.c.CoreV1().Pods(e.ns).Evict(ctx, "guarded-1", nil, skclient.WriteOptions{})
		var se *skclient.StatusError
		if !errors.As(err, &se) || se.Status.GetCode() != 429 || se.Status.GetReason() != "TooManyRequests" ||
			len(se.Status.GetDetails().GetCauses()) != 1 || se.Status.GetDetails().GetCauses()[0].GetReason() != "DisruptionBudget" {
			t.Fatalf("got %v, want a 429 Status with the DisruptionBudget cause", err)
		}
	})

	e.pod("spare-1", map[string]string{"app": "spare"})
	e.pod("spare-2", map[string]string{"app": "spare"})
	e.pod("spare-3", map[string]string{"app": "spare"})
	e.budget("spare", "spare", 1, 3, 2)

	t.Run("a dry run checks and writes nothing", func(t *testing.T) {
		before := e.getBudget("spare")
		code, st := e.evict("spare-1", "?dryRun=All", "policy/v1")
		if code != http.StatusCreated || st.Status != "Success" {
			t.Fatalf("got %d %+v, want 201 Success", code, st)
		}
		after := e.getBudget("spare")
		if after.GetMetadata().GetResourceVersion() != before.GetMetadata().GetResourceVersion() {
			t.Errorf("a dry run wrote the budget: %v", after.GetStatus())
		}
		if p := e.getPod("spare-1"); p.GetMetadata().GetDeletionTimestamp() != nil || disruptionTarget(p) != nil {
			t.Errorf("a dry run touched the pod: %v", p.GetStatus().GetConditions())
		}
	})

	t.Run("an allowed eviction spends the budget and records the pod", func(t *testing.T) {
		code, st := e.evict("spare-1", "", "policy/v1beta1")
		if code != http.StatusCreated || st.Status != "Success" {
			t.Fatalf("got %d %+v, want 201 Success", code, st)
		}
		pdb := e.getBudget("spare")
		if pdb.GetStatus().GetDisruptionsAllowed() != 0 || pdb.GetStatus().GetDisruptedPods()["spare-1"] == nil {
			t.Errorf("budget status: got %v, want no disruption left and spare-1 disrupted", pdb.GetStatus())
		}
		var cond *metav1.Condition
		for _, c := range pdb.GetStatus().GetConditions() {
			if c.GetType() == "DisruptionAllowed" {
				cond = c
			}
		}
		if cond.GetStatus() != "False" || cond.GetReason() != "InsufficientPods" {
			t.Errorf("DisruptionAllowed: got %v, want False InsufficientPods", cond)
		}
		if p := e.getPod("spare-1"); p.GetMetadata().GetDeletionTimestamp() == nil {
			t.Error("the evicted pod is not being deleted")
		}
		// The next one finds the budget spent.
		if code, st := e.evict("spare-2", "", "policy/v1"); code != http.StatusTooManyRequests {
			t.Errorf("second eviction: got %d %+v, want 429", code, st)
		}
	})

	t.Run("gRPC: an allowed eviction deletes the pod", func(t *testing.T) {
		e.pod("grpc-1", map[string]string{"app": "grpc"})
		e.budget("grpc", "grpc", 1, 1, 0)
		if err := e.c.CoreV1().Pods(e.ns).Evict(ctx, "grpc-1", nil, skclient.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if p := e.getPod("grpc-1"); p.GetMetadata().GetDeletionTimestamp() == nil || disruptionTarget(p) == nil {
			t.Errorf("pod after eviction: deletionTimestamp %v, conditions %v", p.GetMetadata().GetDeletionTimestamp(), p.GetStatus().GetConditions())
		}
	})

	t.Run("a pod two budgets cover is a 500", func(t *testing.T) {
		e.pod("twice", map[string]string{"app": "twice", "tier": "x"})
		e.budget("twice-a", "twice", 1, 1, 0)
		e.budget("twice-b", "twice", 1, 1, 0)
		code, st := e.evict("twice", "", "policy/v1")
		if code != http.StatusInternalServerError || st.Status != "Failure" ||
			st.Message != "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." {
			t.Fatalf("got %d %+v, want 500 with Kubernetes' message", code, st)
		}
	})

	t.Run("a Pending pod bypasses its budget", func(t *testing.T) {
		pods := e.c.CoreV1().Pods(e.ns)
		if _, err := pods.Create(ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "pending", Labels: map[string]string{"app": "guarded"}},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/c:v1"}}}}, skclient.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if code, st := e.evict("pending", "", "policy/v1"); code != http.StatusCreated {
			t.Fatalf("got %d %+v, want 201", code, st)
		}
		if _, err := pods.Get(ctx, "pending"); !skclient.IsNotFound(err) {
			t.Errorf("the unscheduled pod: got %v, want it deleted at once", err)
		}
	})

	t.Run("unhealthy pods and unhealthyPodEvictionPolicy", func(t *testing.T) {
		unready := func(name, app string) {
			e.pod(name, map[string]string{"app": app})
			p := e.getPod(name)
			p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "False"}}
			if _, err := e.c.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, skclient.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		// IfHealthyBudget (the default): a budget short of healthy pods
		// protects even the unhealthy ones.
		unready("sick-1", "short")
		e.budget("short", "short", 0, 1, 2)
		if code, st := e.evict("sick-1", "", "policy/v1"); code != http.StatusTooManyRequests {
			t.Errorf("unready pod, budget short of healthy pods: got %d %+v, want 429", code, st)
		}
		// A budget with the healthy pods it wants lets an unready pod go
		// without spending a disruption.
		unready("sick-2", "full")
		e.budget("full", "full", 0, 2, 2)
		if code, st := e.evict("sick-2", "", "policy/v1"); code != http.StatusCreated {
			t.Errorf("unready pod, healthy budget: got %d %+v, want 201", code, st)
		}
		if got := e.getBudget("full").GetStatus(); got.GetDisruptionsAllowed() != 0 || len(got.GetDisruptedPods()) != 0 {
			t.Errorf("the budget was spent: %v", got)
		}
		// AlwaysAllow lets it go whatever the budget.
		unready("sick-3", "always")
		e.budget("always", "always", 0, 0, 2)
		pdb := e.getBudget("always")
		pdb.Spec.UnhealthyPodEvictionPolicy = proto.String("AlwaysAllow")
		pdb, err := e.c.PolicyV1().PodDisruptionBudgets(e.ns).Update(ctx, pdb, skclient.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pdb.Status.ObservedGeneration = pdb.GetMetadata().GetGeneration()
		if _, err := e.c.PolicyV1().PodDisruptionBudgets(e.ns).UpdateStatus(ctx, pdb, skclient.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if code, st := e.evict("sick-3", "", "policy/v1"); code != http.StatusCreated {
			t.Errorf("unready pod, AlwaysAllow: got %d %+v, want 201", code, st)
		}
	})

	t.Run("a budget whose change the controller has not seen asks to retry", func(t *testing.T) {
		pdb := e.getBudget("guarded")
		pdb.Spec.MinAvailable = &metav1.IntOrString{IntVal: 1}
		if _, err := e.c.PolicyV1().PodDisruptionBudgets(e.ns).Update(ctx, pdb, skclient.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		code, st := e.evict("guarded-2", "", "policy/v1")
		if code != http.StatusTooManyRequests || st.Details.RetryAfterSeconds != 10 || len(st.Details.Causes) != 1 ||
			st.Details.Causes[0].Message != "The disruption budget guarded is still being processed by the server." {
			t.Errorf("got %d %+v, want 429 retrying after 10s", code, st)
		}
	})

	t.Run("a name that is not the URL's is a 400", func(t *testing.T) {
		code, data := e.post("/api/v1/namespaces/default/pods/guarded-1/eviction", `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"other"}}`)
		if code != http.StatusBadRequest || !strings.Contains(string(data), "name in URL does not match name in Eviction object") {
			t.Errorf("got %d %s, want 400 BadRequest", code, data)
		}
	})
}

// TestEvictionAuthorization: evicting is create on pods/eviction, on both
// faces; a user who may delete pods but not create evictions gets 403.
func TestEvictionAuthorization(t *testing.T) {
	s := startServer(t, `deleter-token,deleter,u1,""`, `evicter-token,evicter,u2,""`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", s.adminToken,
		`{"metadata":{"name":"pod-deleter"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","delete"]}]}`, nil, 201, "")
	s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", s.adminToken,
		`{"metadata":{"name":"pod-evicter"},"rules":[{"apiGroups":[""],"resources":["pods/eviction"],"verbs":["create"]}]}`, nil, 201, "")
	for _, b := range [][2]string{{"deleter", "pod-deleter"}, {"evicter", "pod-evicter"}} {
		s.expect("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", s.adminToken, fmt.Sprintf(
			`{"metadata":{"name":%q},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":%q},"subjects":[{"kind":"User","name":%q}]}`,
			b[0], b[1], b[0]), nil, 201, "")
	}
	e := &evictionEnv{t: t, ctx: ctx, c: s.client(s.adminToken), s: s, ns: "default"}
	e.pod("a", map[string]string{"app": "a"})
	e.pod("b", map[string]string{"app": "b"})
	body := `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"a"}}`
	s.expect("POST", "/api/v1/namespaces/default/pods/a/eviction", "deleter-token", body, nil, 403,
		`pods "a" is forbidden: User "deleter" cannot create resource "pods/eviction" in API group "" in the namespace "default"`)
	err := s.client("deleter-token").CoreV1().Pods("default").Evict(ctx, "a", nil, skclient.WriteOptions{})
	if !skclient.IsForbidden(err) {
		t.Errorf("gRPC eviction without the permission: got %v, want Forbidden", err)
	}
	s.expect("POST", "/api/v1/namespaces/default/pods/a/eviction", "evicter-token", body, nil, 201, "")
	if err := s.client("evicter-token").CoreV1().Pods("default").Evict(ctx, "b", nil, skclient.WriteOptions{}); err != nil {
		t.Errorf("gRPC eviction with the permission: %v", err)
	}
}

// TestPodDisruptionBudgetValidation: Kubernetes' rules and messages, and
// the status as Kubernetes writes it in JSON.
func TestPodDisruptionBudgetValidation(t *testing.T) {
	s := startServer(t)
	const pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
	for _, tc := range []struct{ spec, want string }{
		{`{"minAvailable":1,"maxUnavailable":1,"selector":{}}`,
			`PodDisruptionBudget.policy "bad" is invalid: spec: Invalid value: {"minAvailable":1,"selector":{},"maxUnavailable":1}: minAvailable and maxUnavailable cannot be both set`},
		{`{"minAvailable":"120%"}`, `PodDisruptionBudget.policy "bad" is invalid: spec.minAvailable: Invalid value: "120%": must not be greater than 100%`},
		{`{"maxUnavailable":-1}`, `PodDisruptionBudget.policy "bad" is invalid: spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0`},
		{`{"minAvailable":1,"unhealthyPodEvictionPolicy":"Never"}`,
			`PodDisruptionBudget.policy "bad" is invalid: spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"`},
		{`{"minAvailable":1,"selector":{"matchLabels":{"a":"b c"}}}`, ""},
	} {
		code, out := s.do("POST", pdbs, s.adminToken, `{"metadata":{"name":"bad"},"spec":`+tc.spec+`}`)
		if code != 422 || (tc.want != "" && out["message"] != tc.want) {
			t.Errorf("spec %s: got %d %v, want 422 %q", tc.spec, code, out["message"], tc.want)
		}
	}
	code, out := s.do("POST", pdbs, s.adminToken, `{"metadata":{"name":"good"},"spec":{"maxUnavailable":"25%","selector":{"matchLabels":{"app":"web"}},"unhealthyPodEvictionPolicy":"AlwaysAllow"},"status":{"disruptionsAllowed":5}}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	// The status is the controller's: a create cannot set it, and the
	// counts are written even when zero.
	st, _ := json.Marshal(out["status"])
	if string(st) != `{"currentHealthy":0,"desiredHealthy":0,"disruptionsAllowed":0,"expectedPods":0}` {
		t.Errorf("status after create: %s", st)
	}
	// The spec may change, and the generation follows it.
	patched, err := s.client(s.adminToken).PolicyV1().PodDisruptionBudgets("default").Patch(context.Background(), "good",
		skclient.MergePatch, []byte(`{"spec":{"maxUnavailable":1}}`), skclient.WriteOptions{}, "")
	if err != nil || patched.GetMetadata().GetGeneration() != 2 || patched.GetSpec().GetMaxUnavailable().GetIntVal() != 1 {
		t.Errorf("patch the spec: %v, generation %d", err, patched.GetMetadata().GetGeneration())
	}
}

// TestDynamicScale: DynamicService.Get reads the scale subresource of any
// kind that has one (what the disruption controller uses for controllers
// it has no informer for), custom resources included, and refuses kinds
// without one.
func TestDynamicScale(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := s.client(s.adminToken)
	s.expect("POST", "/apis/apps/v1/namespaces/default/replicasets", s.adminToken, `{"metadata":{"name":"rs"},"spec":{"replicas":3,
		"selector":{"matchLabels":{"app":"rs"}},"template":{"metadata":{"labels":{"app":"rs"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}}`, nil, 201, "")
	rs := skclient.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	sc, err := c.Dynamic(rs, "default").GetScale(ctx, "rs")
	if err != nil || sc.GetSpec().GetReplicas() != 3 || sc.GetMetadata().GetUid() == "" {
		t.Fatalf("the ReplicaSet's scale: %v, %v", sc, err)
	}

	s.expect("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", s.adminToken, `{"metadata":{"name":"pools.e2e.skiff.dev"},
		"spec":{"group":"e2e.skiff.dev","scope":"Namespaced","names":{"plural":"pools","singular":"pool","kind":"Pool"},
		"versions":[{"name":"v1","served":true,"storage":true,"subresources":{"scale":{"specReplicasPath":".spec.size","statusReplicasPath":".status.size"}},
		"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`, nil, 201, "")
	pools := skclient.GroupVersionResource{Group: "e2e.skiff.dev", Version: "v1", Resource: "pools"}
	pollUntil(t, func() bool {
		_, err := c.Dynamic(pools, "default").Create(ctx, []byte(`{"apiVersion":"e2e.skiff.dev/v1","kind":"Pool","metadata":{"name":"p"},"spec":{"size":5}}`), skclient.WriteOptions{})
		return err == nil
	}, "the Pool kind is served")
	sc, err = c.Dynamic(pools, "default").GetScale(ctx, "p")
	if err != nil || sc.GetSpec().GetReplicas() != 5 {
		t.Fatalf("the Pool's scale: %v, %v", sc, err)
	}

	cms := skclient.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	s.expect("POST", "/api/v1/namespaces/default/configmaps", s.adminToken, `{"metadata":{"name":"cm"}}`, nil, 201, "")
	if _, err := c.Dynamic(cms, "default").GetScale(ctx, "cm"); !skclient.IsNotFound(err) {
		t.Errorf("the scale of a ConfigMap: got %v, want NotFound", err)
	}
}
