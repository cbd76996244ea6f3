package controllermanager

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

const webStatefulSet = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  clusterIP: None
  selector: {app: web}
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: default
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.local/web:v1
        volumeMounts:
        - name: data
          mountPath: /data
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
`

// orderWatch follows the web pods and checks the OrderedReady rules in
// every state it sees: a pod web-N appears only when web-0 .. web-N-1 are
// Ready, and, while scaling down, a pod starts terminating only when no
// pod of a higher ordinal is left.
type orderWatch struct {
	mu         sync.Mutex
	scaling    bool         // down
	ready      map[int]bool // live pods by ordinal: Ready or not
	created    []int
	terminated []int
	violations []string
}

var webOrdinal = regexp.MustCompile(`^web-([0-9]+)$`)

func ordinal(p *corev1.Pod) int {
	m := webOrdinal.FindStringSubmatch(p.GetMetadata().GetName())
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func watchOrder(ctx context.Context, t *testing.T, c *client.Client) *orderWatch {
	w := &orderWatch{ready: map[int]bool{}}
	pods := informer.New(informer.FromResource(c.CoreV1().Pods("default").Resource), informer.Options[*corev1.Pod]{LabelSelector: "app=web"})
	seen := func(p *corev1.Pod) {
		n := ordinal(p)
		if n < 0 {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.ready[n]; !ok && p.GetMetadata().GetDeletionTimestamp() == nil {
			for k := range n {
				if !w.ready[k] {
					w.violations = append(w.violations, fmt.Sprintf("web-%d appeared while web-%d was not Ready (%v)", n, k, w.ready))
				}
			}
			w.created = append(w.created, n)
		}
		if p.GetMetadata().GetDeletionTimestamp() != nil {
			if _, live := w.ready[n]; live {
				for k := range w.ready {
					if k > n && w.scaling {
						w.violations = append(w.violations, fmt.Sprintf("web-%d started terminating while web-%d was still there", n, k))
					}
				}
				w.terminated = append(w.terminated, n)
				delete(w.ready, n)
			}
			return
		}
		w.ready[n] = podReady(p)
	}
	pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    seen,
		OnUpdate: func(_, p *corev1.Pod) { seen(p) },
		OnDelete: func(p *corev1.Pod) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if _, live := w.ready[ordinal(p)]; live {
				w.terminated = append(w.terminated, ordinal(p))
			}
			delete(w.ready, ordinal(p))
		},
	})
	go func() { _ = pods.Start(ctx) }()
	if !pods.WaitForSync(ctx) {
		t.Fatal("pod informer did not sync")
	}
	return w
}

func (w *orderWatch) scalingDown(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.scaling = on
}

func (w *orderWatch) result() (created, terminated []int, violations []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.created), slices.Clone(w.terminated), slices.Clone(w.violations)
}

func (c *cluster) statefulSet(name string) *appsv1.StatefulSet {
	c.t.Helper()
	s, err := client.For[*appsv1.StatefulSet, *appsv1.StatefulSetList](c.c, "default").Get(c.ctx, name)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// webImages maps each live web pod's ordinal to its image.
func (c *cluster) webImages() map[int]string {
	c.t.Helper()
	list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[int]string{}
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			out[ordinal(p)] = p.GetSpec().GetContainers()[0].GetImage()
		}
	}
	return out
}

// staticVolumes makes n hostPath PersistentVolumes of 1Gi, ReadWriteOnce
// and no class, kept (Retain) when their claims go, for the claims of
// sets whose templates name no class.
func (c *cluster) staticVolumes(prefix string, n int) {
	c.t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(pv(fmt.Sprintf("%s-%d", prefix, i), "1Gi", "ReadWriteOnce", "", "Retain"))
	}
	c.kubectl(b.String(), "apply", "-f", "-")
}

func (c *cluster) claims() []string {
	c.t.Helper()
	list, err := client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](c.c, "default").List(c.ctx, client.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			out = append(out, p.GetMetadata().GetName())
		}
	}
	slices.Sort(out)
	return out
}

func want(images map[int]string, byOrdinal ...string) error {
	w := map[int]string{}
	for i, img := range byOrdinal {
		w[i] = img
	}
	if fmt.Sprint(images) != fmt.Sprint(w) {
		return fmt.Errorf("images by ordinal %v, want %v", images, w)
	}
	return nil
}

func TestStatefulSetOrderedReadyWithKubectl(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	w := watchOrder(ctx, t, c.c)

	// The claims name no class: their pods are placed once the
	// persistentvolume-binder has bound them to these volumes. The three
	// claims outlive scale-downs, so three volumes are enough.
	c.staticVolumes("web", 3)
	c.kubectl(webStatefulSet, "apply", "-f", "-")
	out := c.kubectl("", "rollout", "status", "statefulset/web", "--timeout=90s")
	if !strings.Contains(out, "partitioned roll out complete") && !strings.Contains(out, "rolling update complete 3 pods") {
		t.Fatalf("rollout status: %s", out)
	}
	framework.Eventually(t, 30*time.Second, "3 ready replicas", func() error {
		if st := c.statefulSet("web").GetStatus(); st.GetReadyReplicas() != 3 || st.GetAvailableReplicas() != 3 || st.GetCurrentRevision() == "" {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	framework.Eventually(t, 30*time.Second, "3 creations watched", func() error {
		if created, _, _ := w.result(); len(created) < 3 {
			return fmt.Errorf("creations watched so far: %v", created)
		}
		return nil
	})
	if created, _, violations := w.result(); len(violations) > 0 || fmt.Sprint(created) != "[0 1 2]" {
		t.Fatalf("pods created in order %v; OrderedReady violations: %v", created, violations)
	}

	// Identity: names, labels, hostname, subdomain, the claim as a volume.
	pod, err := c.c.CoreV1().Pods("default").Get(c.ctx, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	l := pod.GetMetadata().GetLabels()
	st := c.statefulSet("web").GetStatus()
	if l["statefulset.kubernetes.io/pod-name"] != "web-1" || l["apps.kubernetes.io/pod-index"] != "1" || l["controller-revision-hash"] != st.GetUpdateRevision() {
		t.Fatalf("web-1 labels %v, update revision %s", l, st.GetUpdateRevision())
	}
	if pod.GetSpec().GetHostname() != "web-1" || pod.GetSpec().GetSubdomain() != "web" {
		t.Fatalf("web-1 hostname %q subdomain %q", pod.GetSpec().GetHostname(), pod.GetSpec().GetSubdomain())
	}
	if v := pod.GetSpec().GetVolumes()[0]; v.GetName() != "data" || v.GetVolumeSource().GetPersistentVolumeClaim().GetClaimName() != "data-web-1" {
		t.Fatalf("web-1 volumes %v", pod.GetSpec().GetVolumes())
	}

	// kubectl's columns.
	if out := c.kubectl("", "get", "sts", "web"); !regexp.MustCompile(`NAME\s+READY\s+AGE\nweb\s+3/3\s+`).MatchString(out) {
		t.Fatalf("get sts:\n%s", out)
	}
	if out := c.kubectl("", "get", "sts", "web", "-o", "wide"); !regexp.MustCompile(`NAME\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\nweb\s+3/3\s+\S+\s+web\s+registry.local/web:v1`).MatchString(out) {
		t.Fatalf("get sts -o wide:\n%s", out)
	}
	out = c.kubectl("", "get", "pvc")
	if !regexp.MustCompile(`NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE\n`).MatchString(out) ||
		!regexp.MustCompile(`data-web-0\s+Bound\s+web-[0-2]\s+1Gi\s+RWO\s+<unset>\s+`).MatchString(out) || strings.Count(out, "Bound") != 3 {
		t.Fatalf("get pvc:\n%s", out)
	}
	out = c.kubectl("", "describe", "sts", "web")
	for _, s := range []string{"Replicas:", "3 desired | 3 total", "Pods Status:", "3 Running", "Volume Claims:",
		"create Pod web-2 in StatefulSet web successful", "create Claim data-web-0 Pod web-0 in StatefulSet web success"} {
		if !strings.Contains(out, s) {
			t.Fatalf("describe sts has no %q:\n%s", s, out)
		}
	}

	// Scale down: from the highest ordinal, one at a time; claims stay.
	w.scalingDown(true)
	c.kubectl("", "scale", "sts", "web", "--replicas=1")
	// The watch may deliver a deletion after the list below shows it.
	framework.Eventually(t, 60*time.Second, "one pod left, both deletions watched", func() error {
		if err := want(c.webImages(), "registry.local/web:v1"); err != nil {
			return err
		}
		if _, terminated, _ := w.result(); len(terminated) < 2 {
			return fmt.Errorf("terminations watched so far: %v", terminated)
		}
		return nil
	})
	w.scalingDown(false)
	if _, terminated, violations := w.result(); len(violations) > 0 || fmt.Sprint(terminated) != "[2 1]" {
		t.Fatalf("pods terminated in order %v; violations: %v", terminated, violations)
	}
	if got := c.claims(); fmt.Sprint(got) != "[data-web-0 data-web-1 data-web-2]" {
		t.Fatalf("claims after scale-down: %v", got)
	}
	c.kubectl("", "scale", "sts", "web", "--replicas=3")
	c.kubectl("", "rollout", "status", "statefulset/web", "--timeout=90s")

	// A rolling update with a partition updates only ordinals >= 2.
	c.kubectl("", "patch", "sts", "web", "-p", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}`)
	c.kubectl("", "set", "image", "sts/web", "web=registry.local/web:v2")
	framework.Eventually(t, 60*time.Second, "web-2 updated", func() error {
		return want(c.webImages(), "registry.local/web:v1", "registry.local/web:v1", "registry.local/web:v2")
	})
	out = c.kubectl("", "rollout", "status", "statefulset/web", "--timeout=90s")
	if !strings.Contains(out, "partitioned roll out complete: 1 new pods have been updated") {
		t.Fatalf("rollout status with a partition: %s", out)
	}
	if st := c.statefulSet("web").GetStatus(); st.GetUpdatedReplicas() != 1 || st.GetCurrentReplicas() != 2 || st.GetCurrentRevision() == st.GetUpdateRevision() {
		t.Fatalf("status with a partition: %v", st)
	}
	c.kubectl("", "patch", "sts", "web", "-p", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}`)
	c.kubectl("", "rollout", "status", "statefulset/web", "--timeout=90s")
	framework.Eventually(t, 60*time.Second, "all updated", func() error {
		if err := want(c.webImages(), "registry.local/web:v2", "registry.local/web:v2", "registry.local/web:v2"); err != nil {
			return err
		}
		if st := c.statefulSet("web").GetStatus(); st.GetCurrentRevision() != st.GetUpdateRevision() || st.GetCurrentReplicas() != 3 {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})

	// History, undo and restart.
	history := c.kubectl("", "rollout", "history", "statefulset/web")
	if !regexp.MustCompile(`(?m)^1\s`).MatchString(history) || !regexp.MustCompile(`(?m)^2\s`).MatchString(history) {
		t.Fatalf("rollout history:\n%s", history)
	}
	c.kubectl("", "rollout", "undo", "statefulset/web")
	c.kubectl("", "rollout", "status", "statefulset/web", "--timeout=90s")
	framework.Eventually(t, 60*time.Second, "all back on v1", func() error {
		return want(c.webImages(), "registry.local/web:v1", "registry.local/web:v1", "registry.local/web:v1")
	})
	before := c.statefulSet("web").GetStatus().GetUpdateRevision()
	c.kubectl("", "rollout", "restart", "statefulset/web")
	framework.Eventually(t, 90*time.Second, "pods restarted at a new revision", func() error {
		st := c.statefulSet("web").GetStatus()
		if st.GetUpdateRevision() == before || st.GetCurrentRevision() != st.GetUpdateRevision() || st.GetReadyReplicas() != 3 {
			return fmt.Errorf("status %v", st)
		}
		list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "controller-revision-hash=" + st.GetUpdateRevision()})
		if err != nil || len(list.GetItems()) != 3 {
			return fmt.Errorf("pods at %s: %d, %v", st.GetUpdateRevision(), len(list.GetItems()), err)
		}
		return nil
	})
	if _, _, violations := w.result(); len(violations) > 0 {
		t.Fatalf("OrderedReady violations: %v", violations)
	}
}

const dbStatefulSets = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: default
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: Parallel
  ordinals: {start: 5}
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: registry.local/db:v1
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
  namespace: default
spec:
  serviceName: cache
  replicas: 1
  selector:
    matchLabels: {app: cache}
  template:
    metadata:
      labels: {app: cache}
    spec:
      containers:
      - name: cache
        image: registry.local/cache:v1
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`

func TestStatefulSetClaimRetention(t *testing.T) {
	// A deleted claim keeps its kubernetes.io/pvc-protection finalizer
	// until the controller-manager's pvc-protection controller (on by
	// default) sees no pod using it.
	c := startCluster(t)
	// The claims name no class and there is no default one: the scheduler
	// places their pods only once the persistentvolume-binder has bound
	// them, to volumes of no class. Up to four claims exist at once over
	// the test; scaling down and up again may make and delete more.
	c.staticVolumes("retention", 8)
	c.kubectl(dbStatefulSets, "apply", "-f", "-")
	framework.Eventually(t, 60*time.Second, "both sets ready", func() error {
		for name, n := range map[string]int32{"db": 2, "cache": 1} {
			if got := c.statefulSet(name).GetStatus().GetReadyReplicas(); got != n {
				return fmt.Errorf("%s: %d ready", name, got)
			}
		}
		return nil
	})
	// Ordinals start at 5.
	for _, name := range []string{"db-5", "db-6"} {
		if _, err := c.c.CoreV1().Pods("default").Get(c.ctx, name); err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
	}
	if got := c.claims(); fmt.Sprint(got) != "[data-cache-0 data-db-5 data-db-6]" {
		t.Fatalf("claims: %v", got)
	}
	// whenDeleted: Delete puts the set as the claims' controller.
	claim, err := client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](c.c, "default").Get(c.ctx, "data-db-5")
	if err != nil {
		t.Fatal(err)
	}
	if refs := claim.GetMetadata().GetOwnerReferences(); len(refs) != 1 || refs[0].GetKind() != "StatefulSet" || refs[0].GetName() != "db" || !refs[0].GetController() {
		t.Fatalf("data-db-5 owners %v", refs)
	}

	// whenScaled: Delete: the scaled-down pod's claim goes with it.
	c.kubectl("", "scale", "sts", "db", "--replicas=1")
	framework.Eventually(t, 60*time.Second, "data-db-6 deleted", func() error {
		if got := c.claims(); fmt.Sprint(got) != "[data-cache-0 data-db-5]" {
			return fmt.Errorf("claims %v", got)
		}
		return nil
	})
	// Scaled down and at once up again: the new db-6 waits, if it must,
	// for its predecessor's claim to go, then gets a claim of its own.
	c.kubectl("", "scale", "sts", "db", "--replicas=2")
	c.kubectl("", "scale", "sts", "db", "--replicas=1")
	c.kubectl("", "scale", "sts", "db", "--replicas=2")
	framework.Eventually(t, 60*time.Second, "db back at 2 with both claims", func() error {
		if got := c.claims(); fmt.Sprint(got) != "[data-cache-0 data-db-5 data-db-6]" {
			return fmt.Errorf("claims %v", got)
		}
		s := c.statefulSet("db")
		if st := s.GetStatus(); st.GetReadyReplicas() != 2 || st.GetObservedGeneration() != s.GetMetadata().GetGeneration() {
			return fmt.Errorf("status %v", st)
		}
		claim, err := client.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](c.c, "default").Get(c.ctx, "data-db-6")
		if err != nil {
			return err
		}
		if refs := claim.GetMetadata().GetOwnerReferences(); len(refs) != 1 || refs[0].GetKind() != "StatefulSet" {
			return fmt.Errorf("data-db-6 owners %v", refs)
		}
		return nil
	})
	// whenDeleted: Delete: the claims go with the set; Retain keeps them.
	c.kubectl("", "delete", "sts", "db", "cache")
	framework.Eventually(t, 60*time.Second, "db's claims deleted, cache's kept", func() error {
		if got := c.claims(); fmt.Sprint(got) != "[data-cache-0]" {
			return fmt.Errorf("claims %v", got)
		}
		list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{})
		if err != nil || len(list.GetItems()) != 0 {
			return fmt.Errorf("%d pods left, %v", len(list.GetItems()), err)
		}
		return nil
	})
}

const apiStatefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: api
  namespace: default
spec:
  serviceName: api
  replicas: 4
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 2}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: registry.local/api:v1
`

// apiImages maps each live api pod's name to its image.
func (c *cluster) apiImages() map[string]string {
	c.t.Helper()
	list, err := c.c.CoreV1().Pods("default").List(c.ctx, client.ListOptions{LabelSelector: "app=api"})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range list.GetItems() {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			out[p.GetMetadata().GetName()] = p.GetSpec().GetContainers()[0].GetImage()
		}
	}
	return out
}

func TestStatefulSetMaxUnavailableAndOnDelete(t *testing.T) {
	c := startCluster(t)
	c.kubectl(apiStatefulSet, "apply", "-f", "-")
	c.kubectl("", "rollout", "status", "statefulset/api", "--timeout=90s")

	// maxUnavailable 2: never fewer than 2 of the 4 pods ready.
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	var mu sync.Mutex
	minReady := 4
	pods := informer.New(informer.FromResource(c.c.CoreV1().Pods("default").Resource), informer.Options[*corev1.Pod]{LabelSelector: "app=api"})
	check := func() {
		if !pods.HasSynced() {
			return
		}
		ready := 0
		for _, p := range pods.Store().List() {
			if p.GetMetadata().GetDeletionTimestamp() == nil && podReady(p) {
				ready++
			}
		}
		mu.Lock()
		defer mu.Unlock()
		minReady = min(minReady, ready)
	}
	pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: func(*corev1.Pod) { check() },
		OnUpdate: func(_, _ *corev1.Pod) { check() }, OnDelete: func(*corev1.Pod) { check() }})
	go func() { _ = pods.Start(ctx) }()
	pods.WaitForSync(ctx)
	c.kubectl("", "set", "image", "sts/api", "api=registry.local/api:v2")
	framework.Eventually(t, 60*time.Second, "all pods on v2", func() error {
		got := c.apiImages()
		for _, n := range []string{"api-0", "api-1", "api-2", "api-3"} {
			if got[n] != "registry.local/api:v2" {
				return fmt.Errorf("images %v", got)
			}
		}
		if st := c.statefulSet("api").GetStatus(); st.GetCurrentRevision() != st.GetUpdateRevision() || st.GetReadyReplicas() != 4 {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	mu.Lock()
	if minReady < 2 {
		t.Errorf("during the update: as few as %d of 4 pods ready, with maxUnavailable 2", minReady)
	}
	mu.Unlock()

	// OnDelete: a new template reaches only the pods deleted by hand.
	c.kubectl("", "patch", "sts", "api", "-p", `{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}`)
	c.kubectl("", "set", "image", "sts/api", "api=registry.local/api:v3")
	framework.Eventually(t, 30*time.Second, "the v3 revision is the update revision", func() error {
		s := c.statefulSet("api")
		if st := s.GetStatus(); st.GetObservedGeneration() != s.GetMetadata().GetGeneration() || st.GetUpdatedReplicas() != 0 {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
	// Not waiting: the controller makes api-1 again at once, which can
	// leave kubectl waiting for a deletion it listed too late to see.
	c.kubectl("", "delete", "pod", "api-1", "--wait=false")
	framework.Eventually(t, 60*time.Second, "api-1 back on v3", func() error {
		got := c.apiImages()
		want := map[string]string{"api-0": "registry.local/api:v2", "api-1": "registry.local/api:v3", "api-2": "registry.local/api:v2", "api-3": "registry.local/api:v2"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("images %v, want %v", got, want)
		}
		if st := c.statefulSet("api").GetStatus(); st.GetUpdatedReplicas() != 1 || st.GetCurrentReplicas() != 3 {
			return fmt.Errorf("status %v", st)
		}
		return nil
	})
}
