package compose

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/e2e/framework"
)

// haEnv is what the HA profile's docker-compose commands need besides the
// stack's own environment (up.sh --ha exports the same).
var haEnv = []string{"COMPOSE_FILE=docker-compose.yaml:docker-compose.ha.yaml", "SKIFF_LB_PORT="}

// TestHAStack brings up the HA profile (make up HA=1) and takes parts of
// its control plane away one after another while a writer creates a
// ConfigMap every 20 ms through the load balancer: an etcd member killed
// and started again, each apiserver killed and started again, the leading
// scheduler and controller-manager stopped (gracefully, then killed), an
// etcd member cut off the network for 30 s. After each, every write the
// API acknowledged is there exactly once, each leader-elected component
// has exactly one leader, and the Deployment's pods run. The longest time
// without an acknowledged write is logged per scenario, and the write
// throughput of the HA profile against the single stack's, brought up
// after it in the same run.
func TestHAStack(t *testing.T) {
	s := upWith(t, haEnv, "HA=1")
	cs := s.clientset(t, nil)

	t.Run("serving certificates", func(t *testing.T) { s.checkServingCertificates(t) })
	t.Run("kubernetes Service endpoints", func(t *testing.T) { s.checkKubernetesEndpoints(t, cs) })

	s.mustKubectl(t, haManifest, "apply", "-f", "-")
	s.deploymentRunning(t, cs)

	w := startWriter(t, cs, "ha-writer")
	scenario := func(name string, do func(t *testing.T)) {
		w.scenario(t, name, do, func(t *testing.T) {
			s.checkLeaders(t, cs)
			s.deploymentRunning(t, cs)
		})
	}
	scenario("SIGKILL an etcd member", func(t *testing.T) {
		member := s.etcdLeader(t)
		t.Logf("killing %s, the etcd leader", member)
		s.mustDocker(t, "kill", "-s", "KILL", s.container(t, member))
		w.waitAcks(t, 25)
		s.mustDocker(t, "start", s.container(t, member))
		s.healthy(t, member)
	})
	scenario("SIGKILL an apiserver", func(t *testing.T) {
		// Each in turn: the writer's connection is to one of them.
		for _, a := range []string{"apiserver", "apiserver-2", "apiserver-3"} {
			s.mustDocker(t, "kill", "-s", "KILL", s.container(t, a))
			w.waitAcks(t, 25)
			s.mustDocker(t, "start", s.container(t, a))
			s.healthy(t, a)
		}
	})
	for _, how := range []string{"graceful", "crash"} {
		scenario("stop the leading scheduler and controller-manager, "+how, func(t *testing.T) {
			s.failover(t, cs, how)
		})
	}
	scenario("cut an etcd member off the network for 30s", func(t *testing.T) {
		member := s.etcdLeader(t)
		id, network := s.container(t, member), s.project+"_skiff"
		t.Logf("disconnecting %s, the etcd leader", member)
		s.mustDocker(t, "network", "disconnect", network, id)
		reconnect := func() {
			args := []string{"network", "connect"}
			for _, a := range etcdAliases[member] {
				args = append(args, "--alias", a)
			}
			s.mustDocker(t, append(args, network, id)...)
		}
		cut := time.Now()
		framework.Eventually(t, time.Minute, "30s cut off", func() error {
			if d := time.Since(cut); d < 30*time.Second {
				return fmt.Errorf("cut off for %v", d.Round(time.Second))
			}
			return nil
		})
		reconnect()
		s.healthy(t, member)
	})
	w.stop()
	w.verify(t)
}

// etcdAliases are the names each member is reached by on the network (the
// first member is docker-compose.yaml's etcd service).
var etcdAliases = map[string][]string{"etcd": {"etcd", "etcd-1"}, "etcd-2": {"etcd-2"}, "etcd-3": {"etcd-3"}}

// haManifest is a Deployment whose pods must keep running: the pause image
// every node has preloaded.
const haManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ha-pause, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: ha-pause}}
  template:
    metadata: {labels: {app: ha-pause}}
    spec:
      containers:
      - {name: pause, image: registry.skiff.local/pause:3.10}
`

// clientset is a client of the stack's API through its kubeconfig (the
// load balancer in the HA profile); with dial set it has a transport, so
// a connection, of its own.
func (s *stack) clientset(t testing.TB, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *kubernetes.Clientset {
	t.Helper()
	return clientsetOf(t, s.kubeconfig, dial)
}

// clientsetOf is a client of the API a kubeconfig names.
func clientsetOf(t testing.TB, kubeconfig string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst, cfg.Timeout = 1000, 1000, 15*time.Second
	cfg.Dial = dial
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// checkServingCertificates: the load balancer and each apiserver serve a
// certificate of the cluster's CA valid for the address they are reached at.
func (s *stack) checkServingCertificates(t *testing.T) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.CAData) {
		t.Fatal("no CA in the kubeconfig")
	}
	for i, name := range []string{"lb", "apiserver-1", "apiserver-2", "apiserver-3"} {
		ip := fmt.Sprintf("%s.%d", s.net, 10+i)
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ip+":6443", &tls.Config{RootCAs: roots, ServerName: ip})
		if err != nil {
			t.Errorf("%s at %s: %v", name, ip, err)
			continue
		}
		conn.Close()
	}
}

// checkKubernetesEndpoints: the kubernetes Service lists the addresses the
// apiservers advertise: the load balancer's (apiserver-1's) and the other two.
func (s *stack) checkKubernetesEndpoints(t *testing.T, cs *kubernetes.Clientset) {
	want := []string{s.net + ".10", s.net + ".12", s.net + ".13"}
	framework.Eventually(t, time.Minute, "the kubernetes Service's endpoints", func() error {
		ep, err := cs.CoreV1().Endpoints("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
		if err != nil {
			return err
		}
		var got []string
		for _, sub := range ep.Subsets {
			for _, a := range sub.Addresses {
				got = append(got, a.IP)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("endpoints %v, want %v", got, want)
		}
		return nil
	})
}

// deploymentRunning waits until the Deployment's pods all run.
func (s *stack) deploymentRunning(t testing.TB, cs *kubernetes.Clientset) {
	t.Helper()
	framework.Eventually(t, 3*time.Minute, "the ha-pause pods running", func() error {
		ctx := context.Background()
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "ha-pause", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=ha-pause"})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if want := *d.Spec.Replicas; d.Status.ReadyReplicas != want || int32(running) != want {
			return fmt.Errorf("%d ready, %d running, want %d", d.Status.ReadyReplicas, running, want)
		}
		return nil
	})
}

// raftState is a member's raft role changes as etcd logs them.
var raftState = regexp.MustCompile(`became (leader|follower|candidate|pre-candidate) at term (\d+)`)

// etcdLeader is the HA profile's etcd leader.
func (s *stack) etcdLeader(t testing.TB) string {
	t.Helper()
	return etcdLeader(t, []string{"etcd", "etcd-2", "etcd-3"}, func(m string) (string, error) {
		return s.run(time.Minute, "docker", "logs", s.container(t, m))
	})
}

// etcdLeader is the member that logged becoming leader at the highest term
// of any member's latest role change; logs reads a member's log.
func etcdLeader(t testing.TB, members []string, logs func(member string) (string, error)) string {
	t.Helper()
	var leader string
	framework.Eventually(t, time.Minute, "an etcd leader", func() error {
		leader = ""
		top := -1
		for _, m := range members {
			out, err := logs(m)
			if err != nil {
				return fmt.Errorf("the logs of %s: %v", m, err)
			}
			all := raftState.FindAllStringSubmatch(out, -1)
			if len(all) == 0 {
				continue
			}
			last := all[len(all)-1]
			term, _ := strconv.Atoi(last[2])
			switch {
			case term > top:
				top, leader = term, ""
				if last[1] == "leader" {
					leader = m
				}
			case term == top && last[1] == "leader":
				leader = m
			}
		}
		if leader == "" {
			return fmt.Errorf("no member's latest role is leader (term %d)", top)
		}
		return nil
	})
	return leader
}

// elections are the leader-elected components and their replicas.
var elections = map[string][]string{
	"kube-scheduler":          {"scheduler-1", "scheduler-2"},
	"kube-controller-manager": {"controller-manager-1", "controller-manager-2"},
}

// leaseHolder is the replica (container hostname) holding an election's
// Lease, "" when none does.
func leaseHolder(cs *kubernetes.Clientset, election string) (string, error) {
	l, err := cs.CoordinationV1().Leases("kube-system").Get(context.Background(), election, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if l.Spec.HolderIdentity == nil {
		return "", nil
	}
	name, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
	return name, nil
}

// leading says whether a running replica thinks it leads: its last
// "started leading" or "stopped leading" since its container started.
func (s *stack) leading(t testing.TB, replica string) (running, leads bool, err error) {
	id := s.container(t, replica)
	out, err := s.run(time.Minute, "docker", "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", id)
	if err != nil {
		return false, false, fmt.Errorf("docker inspect %s: %v: %s", replica, err, out)
	}
	state, started, _ := strings.Cut(strings.TrimSpace(out), " ")
	if state != "true" {
		return false, false, nil
	}
	logs, err := s.run(time.Minute, "docker", "logs", "--since", started, id)
	if err != nil {
		return true, false, fmt.Errorf("docker logs %s: %v", replica, err)
	}
	return true, leadsByLog(logs), nil
}

// leadsByLog says whether a component's log ends leading: its last
// "started leading" after its last "stopped leading".
func leadsByLog(logs string) bool {
	return strings.LastIndex(logs, `msg="started leading"`) > strings.LastIndex(logs, `msg="stopped leading"`)
}

// checkLeaders: each election's Lease is held by a running replica, which
// alone of the replicas thinks it leads.
func (s *stack) checkLeaders(t testing.TB, cs *kubernetes.Clientset) {
	t.Helper()
	for election, replicas := range elections {
		framework.Eventually(t, 2*time.Minute, "one leader of "+election, func() error {
			holder, err := leaseHolder(cs, election)
			if err != nil {
				return err
			}
			var think []string
			for _, r := range replicas {
				running, leads, err := s.leading(t, r)
				if err != nil {
					return err
				}
				if r == holder && !running {
					return fmt.Errorf("the Lease is held by %s, which is not running", r)
				}
				if leads {
					think = append(think, r)
				}
			}
			if len(think) != 1 || think[0] != holder {
				return fmt.Errorf("the Lease is held by %q; leading by their own account: %v", holder, think)
			}
			return nil
		})
	}
}

// failover stops the leaders of both elections at once, gracefully
// (docker stop: SIGTERM) or as a crash (SIGKILL), logs how long until
// the other replica of each held its Lease, and starts them again.
func (s *stack) failover(t *testing.T, cs *kubernetes.Clientset, how string) {
	old := map[string]string{}
	for election := range elections {
		h, err := leaseHolder(cs, election)
		if err != nil || h == "" {
			t.Fatalf("%s Lease: holder %q, %v", election, h, err)
		}
		old[election] = h
	}
	stop := []string{"kill", "-s", "KILL"}
	if how == "graceful" {
		stop = []string{"stop"}
	}
	ids := map[string]string{}
	for _, leader := range old {
		ids[leader] = s.container(t, leader)
	}
	start := time.Now()
	signalled, stopEvents := s.signals(t, start, slices.Collect(maps.Values(ids))...)
	defer stopEvents()
	var wg sync.WaitGroup
	for leader, id := range ids {
		wg.Add(1)
		go func() { // both at once; docker stop waits for the exit
			defer wg.Done()
			if out, err := s.run(2*time.Minute, "docker", append(stop, id)...); err != nil {
				t.Errorf("docker %s %s: %v\n%s", strings.Join(stop, " "), leader, err, out)
			}
		}()
	}
	seen := map[string]time.Time{}
	framework.Eventually(t, 2*time.Minute, "the other replicas leading", func() error {
		for election, was := range old {
			if _, done := seen[election]; done {
				continue
			}
			if h, err := leaseHolder(cs, election); err == nil && h != "" && h != was {
				seen[election] = time.Now()
			}
		}
		if len(seen) < len(old) {
			return fmt.Errorf("taken over so far: %v", seen)
		}
		return nil
	})
	wg.Wait()
	for election, at := range seen {
		leader := old[election]
		t.Logf("%s failover (%s stop of %s): %v from the signal (%v from the docker command)",
			election, how, leader, at.Sub(signalled(ids[leader])).Round(10*time.Millisecond), at.Sub(start).Round(10*time.Millisecond))
	}
	for _, leader := range old {
		s.mustDocker(t, "start", s.container(t, leader))
		s.healthy(t, leader)
	}
}

// signals records when Docker signals the given containers from since on
// (their kill events: docker stop's SIGTERM, docker kill's SIGKILL), from
// a docker events stream started before the signals are sent; at waits
// for a container's first one, stop ends the stream.
func (s *stack) signals(t testing.TB, since time.Time, ids ...string) (at func(id string) time.Time, stop func()) {
	t.Helper()
	args := []string{"events", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()), "--filter", "event=kill", "--format", "{{.ID}} {{.TimeNano}}"}
	for _, id := range ids {
		args = append(args, "--filter", "container="+id)
	}
	cmd := exec.Command("docker", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	first := map[string]time.Time{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			id, nanos, _ := strings.Cut(sc.Text(), " ")
			if ns, err := strconv.ParseInt(nanos, 10, 64); err == nil {
				mu.Lock()
				if _, ok := first[id]; !ok {
					first[id] = time.Unix(0, ns)
				}
				mu.Unlock()
			}
		}
	}()
	at = func(id string) time.Time {
		var when time.Time
		framework.Eventually(t, 30*time.Second, "Docker's kill event of "+id, func() error {
			mu.Lock()
			defer mu.Unlock()
			var ok bool
			if when, ok = first[id]; !ok {
				return fmt.Errorf("events so far: %v", first)
			}
			return nil
		})
		return when
	}
	return at, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

// writerLabel marks the writer's ConfigMaps.
const writerLabel = "e2e.skiff.dev/ha-writer"

// writer creates a ConfigMap every 20 ms, one request at a time, and
// records each request and each acknowledged write (its sequence number
// and the name the API gave it).
type writer struct {
	cs        *kubernetes.Clientset
	ns        string
	stopc     chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	acked     map[int]string
	requests  []request
	seq, acks int
}

// request is one create: when it ended and how.
type request struct {
	end time.Time
	err error
}

func startWriter(t *testing.T, cs *kubernetes.Clientset, ns string) *writer {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := &writer{cs: cs, ns: ns, stopc: make(chan struct{}), done: make(chan struct{}), acked: map[int]string{}}
	go w.run()
	t.Cleanup(w.stop)
	return w
}

func (w *writer) run() {
	defer close(w.done)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stopc:
			return
		case <-tick.C:
		}
		w.write()
	}
}

func (w *writer) write() {
	w.seq++
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "w-", Labels: map[string]string{writerLabel: "true"}},
		Data:       map[string]string{"seq": strconv.Itoa(w.seq)},
	}
	got, err := w.cs.CoreV1().ConfigMaps(w.ns).Create(ctx, cm, metav1.CreateOptions{})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests = append(w.requests, request{end: time.Now(), err: err})
	if err == nil {
		w.acked[w.seq] = got.Name
		w.acks++
	}
}

func (w *writer) stop() {
	select {
	case <-w.stopc:
	default:
		close(w.stopc)
	}
	<-w.done
}

// scenario runs a fault as a subtest under the writer: do makes it (and
// undoes it), then, 25 acknowledged writes later, the longest time
// without one since the fault is logged, every acknowledged write is
// checked stored once, and check checks the rest of the cluster.
func (w *writer) scenario(t *testing.T, name string, do, check func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		from := time.Now()
		do(t)
		w.waitAcks(t, 25)
		longest, failed, errs := w.window(from, time.Now())
		t.Logf("%s: longest time without an acknowledged write %v, %d failed requests %v", name, longest.Round(time.Millisecond), failed, errs)
		w.verify(t)
		check(t)
	})
}

// waitAcks waits for n more acknowledged writes.
func (w *writer) waitAcks(t testing.TB, n int) {
	t.Helper()
	w.mu.Lock()
	want := w.acks + n
	w.mu.Unlock()
	framework.Eventually(t, 3*time.Minute, fmt.Sprintf("%d more acknowledged writes", n), func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.acks < want {
			last := "none"
			if len(w.requests) > 0 {
				last = fmt.Sprint(w.requests[len(w.requests)-1].err)
			}
			return fmt.Errorf("%d of %d; last request: %s", w.acks, want, last)
		}
		return nil
	})
}

// window is the longest time between two acknowledged writes (or from
// the last before from) ending within [from, to], the requests that failed
// then, and up to three of their distinct errors.
func (w *writer) window(from, to time.Time) (longest time.Duration, failed int, errs []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lastOK := from
	for _, r := range w.requests {
		if r.end.Before(from) {
			if r.err == nil {
				lastOK = r.end
			}
			continue
		}
		if r.end.After(to) {
			break
		}
		if r.err != nil {
			failed++
			if msg := r.err.Error(); len(errs) < 3 && !slices.Contains(errs, msg) {
				errs = append(errs, msg)
			}
			continue
		}
		longest, lastOK = max(longest, r.end.Sub(lastOK)), r.end
	}
	return max(longest, to.Sub(lastOK)), failed, errs
}

// verify: every acknowledged write is there, once, under the name the API
// gave it, and no sequence number was stored twice.
func (w *writer) verify(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	acked := maps.Clone(w.acked)
	w.mu.Unlock()
	var stored map[int][]string
	framework.Eventually(t, time.Minute, "the writer's ConfigMaps listed", func() error {
		list, err := w.cs.CoreV1().ConfigMaps(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: writerLabel})
		if err != nil {
			return err
		}
		stored = map[int][]string{}
		for _, cm := range list.Items {
			seq, err := strconv.Atoi(cm.Data["seq"])
			if err != nil {
				return fmt.Errorf("%s: seq %q", cm.Name, cm.Data["seq"])
			}
			stored[seq] = append(stored[seq], cm.Name)
		}
		return nil
	})
	lost := 0
	for seq, name := range acked {
		if !slices.Contains(stored[seq], name) {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged write %d (%s) lost: stored %v", seq, name, stored[seq])
			}
		}
	}
	for seq, names := range stored {
		if len(names) > 1 {
			t.Errorf("write %d stored %d times: %v", seq, len(names), names)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(acked))
	}
	t.Logf("%d acknowledged writes, each stored once (%d stored)", len(acked), len(stored))
}

// throughputFor is how long measureWrites writes.
const throughputFor = 10 * time.Second

// measureWrites creates ConfigMaps from 8 clients at once, each on a
// connection of its own (so the load balancer spreads them), for
// throughputFor and returns the acknowledged creates per second.
func measureWrites(t testing.TB, s *stack, ns string) float64 {
	t.Helper()
	s.mustKubectl(t, "", "create", "namespace", ns)
	var mu sync.Mutex
	var acks, fails int
	end := time.Now().Add(throughputFor)
	var wg sync.WaitGroup
	for range 8 {
		cs := s.clientset(t, (&net.Dialer{Timeout: 5 * time.Second}).DialContext)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				_, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}, Data: map[string]string{"k": "v"},
				}, metav1.CreateOptions{})
				mu.Lock()
				if err == nil {
					acks++
				} else {
					fails++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	rate := float64(acks) / throughputFor.Seconds()
	t.Logf("%s: %d creates acknowledged in %v (%.0f/s), %d failed", s.project, acks, throughputFor, rate, fails)
	return rate
}
