package scheduler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// BenchmarkScheduling measures the scheduler process against a real
// apiserver: the pods and nodes exist before the scheduler starts, and the
// clock runs from its start until every pod is bound. Run it with
// -benchtime=1x; each iteration builds its own cluster.

const (
	benchPodsPerNode = 110
	benchZones       = 10
	benchNamespace   = "default"
	// benchStall fails an iteration when no pod is bound for this long.
	benchStall = 2 * time.Minute
)

type schedulingCase struct {
	nodes int
	pods  int
	name  string
	// config returns the path of a scheduler configuration file passed as
	// --config; nil or "" runs the default profile.
	config func(b *testing.B) string
}

// withPlugin runs the example maintenance plugin in the default profile.
func withPlugin(b *testing.B) string { return pluginConfig(b, "Ignore") }

var schedulingCases = []schedulingCase{
	{nodes: 1000, pods: 10000, name: "nodes=1000/plugin=none"},
	{nodes: 1000, pods: 10000, name: "nodes=1000/plugin=maintenance", config: withPlugin},
	{nodes: 5000, pods: 10000, name: "nodes=5000/plugin=none"},
	{nodes: 5000, pods: 10000, name: "nodes=5000/plugin=maintenance", config: withPlugin},
}

// schedulingResult is what one iteration measured.
type schedulingResult struct {
	podsPerSec float64 // pods bound per second, first bind to last
	p50, p99   float64 // attempt latency in milliseconds
	total      float64 // seconds from scheduler start to the last bind
	rssMiB     float64 // the scheduler's peak resident set
}

func BenchmarkScheduling(b *testing.B) {
	if testing.Short() {
		b.Skip("e2e: skipped with -short")
	}
	for _, tc := range schedulingCases {
		b.Run(tc.name, func(b *testing.B) {
			if tc.nodes*benchPodsPerNode < tc.pods {
				b.Fatalf("%d nodes hold at most %d pods, fewer than the %d to schedule", tc.nodes, tc.nodes*benchPodsPerNode, tc.pods)
			}
			var sum schedulingResult
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := runScheduling(b, tc)
				sum.podsPerSec += r.podsPerSec
				sum.p50 += r.p50
				sum.p99 += r.p99
				sum.total += r.total
				sum.rssMiB = max(sum.rssMiB, r.rssMiB)
			}
			n := float64(b.N)
			b.ReportMetric(sum.podsPerSec/n, "pods/s")
			b.ReportMetric(sum.p50/n, "p50-ms")
			b.ReportMetric(sum.p99/n, "p99-ms")
			b.ReportMetric(sum.total/n, "total-s")
			b.ReportMetric(sum.rssMiB, "rss-MiB")
		})
	}
}

// runScheduling is one iteration: a fresh cluster, then the timed run of
// the scheduler. It is called with the timer stopped and leaves it so.
func runScheduling(b *testing.B, tc schedulingCase) schedulingResult {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	srv := framework.StartAPIServer(b, framework.NoServiceAccounts) // no controller-manager
	defer srv.Stop()
	c := benchClient(b, srv)
	defer c.Close()
	var config string
	if tc.config != nil {
		config = tc.config(b)
	}

	step := time.Now()
	if err := inParallel(tc.nodes, 16, func(i int) error { return createBenchNode(ctx, c, i) }); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d nodes in %v", tc.nodes, time.Since(step).Round(time.Millisecond))
	step = time.Now()
	if err := inParallel(tc.pods, 32, func(i int) error { return createBenchPod(ctx, c, i) }); err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d pods in %v", tc.pods, time.Since(step).Round(time.Millisecond))

	w, err := watchBindings(ctx, c.CoreV1().Pods(""), tc.pods)
	if err != nil {
		b.Fatal(err)
	}
	defer w.stop()
	addr, flags := framework.SecurePort(b)
	flags = append(flags, "--leader-elect=false")
	if config != "" {
		flags = append(flags, "--config", config)
	}

	b.StartTimer()
	started := time.Now()
	sched := framework.StartScheduler(b, srv, flags...)
	defer sched.Stop()
	w.wait(b, sched)
	b.StopTimer()

	first, last, relists := w.span()
	samples, err := scrapeMetrics(srv, addr)
	if err != nil {
		b.Fatal(err)
	}
	rss, err := peakRSS(sched.Pid())
	if err != nil {
		b.Fatal(err)
	}
	cpu, err := cpuTime(sched.Pid())
	if err != nil {
		b.Fatal(err)
	}
	sched.Stop()
	checkPlacement(ctx, b, c, tc, w)

	buckets := histogramBuckets(samples, "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"})
	r := schedulingResult{
		podsPerSec: float64(tc.pods-1) / last.Sub(first).Seconds(),
		p50:        1000 * histogramQuantile(0.50, buckets),
		p99:        1000 * histogramQuantile(0.99, buckets),
		total:      last.Sub(started).Seconds(),
		rssMiB:     rss,
	}
	b.Logf("scheduler start to first bind %v, first to last %v, %d relists of the watch; attempts %v, mean %.2fms; scheduler CPU %v; iteration took %v",
		first.Sub(started).Round(time.Millisecond), last.Sub(first).Round(time.Millisecond), relists,
		attemptCounts(samples), 1000*histogramMean(samples, "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"}),
		cpu.Round(10*time.Millisecond), time.Since(began).Round(time.Second))
	return r
}

// benchClient is a client whose replies may hold every pod in one list.
func benchClient(b *testing.B, srv *framework.APIServer) *client.Client {
	b.Helper()
	cfg, err := client.FromKubeconfig(srv.Kubeconfig())
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(cfg, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(512<<20)))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchNodeName(i int) string { return fmt.Sprintf("node-%05d", i) }

// createBenchNode creates a ready node with room for benchPodsPerNode pods.
func createBenchNode(ctx context.Context, c *client.Client, i int) error {
	name := benchNodeName(i)
	room := map[string]*metav1.Quantity{"cpu": q("32"), "memory": q("128Gi"), "pods": q(strconv.Itoa(benchPodsPerNode))}
	n := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname":      name,
			"topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%benchZones),
		}},
		Spec: &corev1.NodeSpec{},
	}
	created, err := c.CoreV1().Nodes().Create(ctx, n, client.WriteOptions{})
	if err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	created.Status = &corev1.NodeStatus{Allocatable: room, Capacity: room,
		Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, created, client.WriteOptions{}); err != nil {
		return fmt.Errorf("update status of node %s: %w", name, err)
	}
	return nil
}

func createBenchPod(ctx context.Context, c *client.Client, i int) error {
	p := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Namespace: benchNamespace},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
			Name: "app", Image: "registry.local/app:1",
			Resources: &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"cpu": q("100m"), "memory": q("128Mi")}},
		}}},
	}
	if _, err := c.CoreV1().Pods(benchNamespace).Create(ctx, p, client.WriteOptions{}); err != nil {
		return fmt.Errorf("create pod %s: %w", p.Metadata.Name, err)
	}
	return nil
}

// inParallel calls fn for 0..n-1 from workers goroutines and returns the
// first error; after one, no new call starts.
func inParallel(n, workers int, fn func(i int) error) error {
	var (
		next   atomic.Int64
		failed atomic.Bool
		once   sync.Once
		first  error
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return first
}

// bindWatch follows the pods and notes when each is first seen bound. A
// watch cut off for falling behind is replaced by a list and a new watch.
type bindWatch struct {
	want   int
	cancel context.CancelFunc
	done   chan struct{} // closed when all are bound or the watch failed
	ended  chan struct{} // closed when the goroutine returns

	mu      sync.Mutex
	nodeOf  map[string]string
	moved   []string // pods seen bound to one node, then another
	first   time.Time
	last    time.Time
	relists int
	err     error
}

// watchBindings lists the pods, opens the watch and follows it until
// want pods are bound or stop is called.
func watchBindings(ctx context.Context, pods *client.PodClient, want int) (*bindWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &bindWatch{want: want, cancel: cancel, done: make(chan struct{}), ended: make(chan struct{}), nodeOf: map[string]string{}}
	watcher, err := w.relist(ctx, pods)
	if err != nil {
		cancel()
		return nil, err
	}
	go w.run(ctx, pods, watcher)
	return w, nil
}

func (w *bindWatch) run(ctx context.Context, pods *client.PodClient, watcher client.Watcher[*corev1.Pod]) {
	defer close(w.ended)
	for {
		complete := w.follow(watcher)
		watcher.Stop()
		if complete || ctx.Err() != nil {
			return
		}
		var err error
		if watcher, err = w.relist(ctx, pods); err != nil {
			w.finish(err)
			return
		}
		w.mu.Lock()
		w.relists++
		w.mu.Unlock()
	}
}

// follow reads events until the watch ends; true once all are bound.
func (w *bindWatch) follow(watcher client.Watcher[*corev1.Pod]) bool {
	for ev := range watcher.ResultChan() {
		switch ev.Type {
		case client.Added, client.Modified:
			if w.see(ev.Object, time.Now()) {
				return true
			}
		case client.Error:
			return false
		}
	}
	return false
}

// relist reads every pod and watches from the list's revision.
func (w *bindWatch) relist(ctx context.Context, pods *client.PodClient) (client.Watcher[*corev1.Pod], error) {
	list, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	now := time.Now()
	for _, p := range list.GetItems() {
		w.see(p, now)
	}
	watcher, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: list.GetMetadata().GetResourceVersion()})
	if err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	return watcher, nil
}

// see records a pod's binding; true once all are bound.
func (w *bindWatch) see(p *corev1.Pod, at time.Time) bool {
	node := p.GetSpec().GetNodeName()
	if node == "" {
		return false
	}
	key := p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
	w.mu.Lock()
	defer w.mu.Unlock()
	if was, ok := w.nodeOf[key]; ok {
		if was != node {
			w.moved = append(w.moved, fmt.Sprintf("%s: %s then %s", key, was, node))
		}
		return false
	}
	w.nodeOf[key] = node
	if w.first.IsZero() {
		w.first = at
	}
	w.last = at
	if len(w.nodeOf) == w.want {
		w.finishLocked(nil)
		return true
	}
	return false
}

func (w *bindWatch) finish(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finishLocked(err)
}

func (w *bindWatch) finishLocked(err error) {
	select {
	case <-w.done:
	default:
		w.err = err
		close(w.done)
	}
}

func (w *bindWatch) bound() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.nodeOf)
}

// wait blocks until every pod is bound; it fails the benchmark when the
// scheduler exits or binds nothing for benchStall.
func (w *bindWatch) wait(b *testing.B, sched *framework.Process) {
	b.Helper()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	seen, progressed := w.bound(), time.Now()
	for {
		select {
		case <-w.done:
			if w.err != nil {
				b.Fatal(w.err)
			}
			return
		case <-tick.C:
		}
		if err := sched.Exited(); err != nil {
			b.Fatalf("scheduler %v with %d of %d pods bound", err, w.bound(), w.want)
		}
		if n := w.bound(); n != seen {
			seen, progressed = n, time.Now()
		} else if time.Since(progressed) > benchStall {
			b.Fatalf("no pod bound for %v; %d of %d bound", benchStall, n, w.want)
		}
	}
}

func (w *bindWatch) span() (first, last time.Time, relists int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first, w.last, w.relists
}

func (w *bindWatch) stop() {
	w.cancel()
	<-w.ended
}

// checkPlacement lists the pods and checks that each is bound to one of
// the nodes, that no node holds more than it allows, and that no pod was
// seen moving from one node to another.
func checkPlacement(ctx context.Context, b *testing.B, c *client.Client, tc schedulingCase, w *bindWatch) {
	b.Helper()
	list, err := c.CoreV1().Pods(benchNamespace).List(ctx, client.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if got := len(list.GetItems()); got != tc.pods {
		b.Errorf("got %d pods, want %d", got, tc.pods)
	}
	nodes := map[string]bool{}
	for i := range tc.nodes {
		nodes[benchNodeName(i)] = true
	}
	perNode := map[string]int{}
	for _, p := range list.GetItems() {
		node := p.GetSpec().GetNodeName()
		if !nodes[node] {
			b.Errorf("pod %s bound to %q, want one of the %d nodes", p.GetMetadata().GetName(), node, tc.nodes)
			continue
		}
		perNode[node]++
	}
	fewest, most := tc.pods, 0
	for node, n := range perNode {
		if n > benchPodsPerNode {
			b.Errorf("node %s has %d pods, more than its %d", node, n, benchPodsPerNode)
		}
		fewest, most = min(fewest, n), max(most, n)
	}
	if len(perNode) < tc.nodes {
		fewest = 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.moved) > 0 {
		b.Errorf("%d pods were bound twice, e.g. %s", len(w.moved), w.moved[0])
	}
	b.Logf("pods spread over %d of %d nodes, %d to %d a node", len(perNode), tc.nodes, fewest, most)
}

// peakRSS is a process's peak resident set (VmHWM) in MiB.
func peakRSS(pid int) (float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0, fmt.Errorf("parse %q: %w", line, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// cpuTime is the user and system CPU a process has used, from the 14th
// and 15th fields of /proc/<pid>/stat, counted in USER_HZ (100 on Linux).
func cpuTime(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func scrapeMetrics(srv *framework.APIServer, addr string) ([]sample, error) {
	code, body, err := framework.GetSecure(addr, "/metrics", srv.AdminToken())
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %d %s", addr, code, body)
	}
	return parseSamples(strings.NewReader(body))
}

// parseSamples reads the Prometheus text format: comments are skipped, a
// sample is `name{label="value",...} value [timestamp]`.
func parseSamples(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	var rest string
	if open := strings.IndexByte(line, '{'); open >= 0 {
		end := strings.LastIndexByte(line, '}')
		if end < open {
			return sample{}, fmt.Errorf("sample %q: unterminated labels", line)
		}
		labels, err := parseLabels(line[open+1 : end])
		if err != nil {
			return sample{}, fmt.Errorf("sample %q: %w", line, err)
		}
		s.name, s.labels, rest = line[:open], labels, line[end+1:]
	} else {
		var ok bool
		if s.name, rest, ok = strings.Cut(line, " "); !ok {
			return sample{}, fmt.Errorf("sample %q: no value", line)
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return sample{}, fmt.Errorf("sample %q: no value", line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return sample{}, fmt.Errorf("sample %q: %w", line, err)
	}
	s.value = v
	return s, nil
}

// parseLabels reads `a="x",b="y"`, with \\, \" and \n escapes in values.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), ",")) {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || !strings.HasPrefix(rest, `"`) {
			return nil, fmt.Errorf("label %q: want name=\"value\"", s)
		}
		var val strings.Builder
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
				if rest[i] == 'n' {
					val.WriteByte('\n')
					continue
				}
			}
			val.WriteByte(rest[i])
		}
		if i == len(rest) {
			return nil, fmt.Errorf("label %q: unterminated value", s)
		}
		out[strings.TrimSpace(key)] = val.String()
		s = rest[i+1:]
	}
	return out, nil
}

// bucket is one cumulative histogram bucket: count observations <= le.
type bucket struct {
	le    float64
	count float64
}

// histogramBuckets picks the buckets of a histogram whose labels include
// match, sorted by upper bound.
func histogramBuckets(samples []sample, name string, match map[string]string) []bucket {
	var out []bucket
	for _, s := range samples {
		if s.name != name+"_bucket" || !hasLabels(s.labels, match) {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			continue
		}
		out = append(out, bucket{le: le, count: s.value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

func hasLabels(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// histogramQuantile estimates the q-quantile from cumulative buckets
// sorted by upper bound, the last being +Inf, as PromQL's
// histogram_quantile does: linear interpolation inside the bucket the
// rank falls in, the first bucket starting at 0, and the highest finite
// bound when the rank falls in +Inf. NaN when there is nothing to go on.
func histogramQuantile(q float64, buckets []bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	n := len(buckets)
	if n < 2 || !math.IsInf(buckets[n-1].le, 1) {
		return math.NaN()
	}
	total := buckets[n-1].count
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := sort.Search(n-1, func(i int) bool { return buckets[i].count >= rank })
	if i == n-1 {
		return buckets[n-2].le
	}
	if i == 0 && buckets[0].le <= 0 {
		return buckets[0].le
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = buckets[i-1].le, buckets[i-1].count
	}
	in := buckets[i].count - below
	if in == 0 {
		return buckets[i].le
	}
	return lower + (buckets[i].le-lower)*(rank-below)/in
}

// histogramMean is a histogram's _sum over its _count; NaN when empty.
func histogramMean(samples []sample, name string, match map[string]string) float64 {
	var sum, count float64
	for _, s := range samples {
		switch {
		case !hasLabels(s.labels, match):
		case s.name == name+"_sum":
			sum = s.value
		case s.name == name+"_count":
			count = s.value
		}
	}
	if count == 0 {
		return math.NaN()
	}
	return sum / count
}

// attemptCounts are the scheduling attempts by result.
func attemptCounts(samples []sample) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.name == "scheduler_schedule_attempts_total" {
			out[s.labels["result"]] = s.value
		}
	}
	return out
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	// 100 observations: 10 up to 1ms, 40 in (1ms, 2ms], 40 in (2ms, 4ms],
	// 9 in (4ms, 8ms] and 1 above.
	spread := []bucket{{0.001, 10}, {0.002, 50}, {0.004, 90}, {0.008, 99}, {inf, 100}}
	cases := []struct {
		name    string
		q       float64
		buckets []bucket
		want    float64
	}{
		{"inside the first bucket, from 0", 0.05, spread, 0.0005},
		{"at a bucket's upper bound", 0.5, spread, 0.002},
		{"interpolated", 0.7, spread, 0.003},
		{"p99 at the last finite bound", 0.99, spread, 0.008},
		{"above the last finite bound", 0.995, spread, 0.008},
		{"q=0", 0, spread, 0},
		{"q=1", 1, spread, 0.008},
		{"below 0", -0.1, spread, math.Inf(-1)},
		{"above 1", 1.1, spread, inf},
		{"empty buckets are skipped", 0.5, []bucket{{1, 0}, {2, 0}, {3, 4}, {inf, 4}}, 2.5},
		{"no observations", 0.5, []bucket{{1, 0}, {inf, 0}}, math.NaN()},
		{"no +Inf bucket", 0.5, []bucket{{1, 1}, {2, 2}}, math.NaN()},
		{"one bucket", 0.5, []bucket{{inf, 3}}, math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := histogramQuantile(tc.q, tc.buckets)
			if !(got == tc.want || (math.IsNaN(got) && math.IsNaN(tc.want)) || math.Abs(got-tc.want) < 1e-12) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseHistogramFromMetrics(t *testing.T) {
	text := `# HELP scheduler_scheduling_attempt_duration_seconds Scheduling attempt latency.
# TYPE scheduler_scheduling_attempt_duration_seconds histogram
scheduler_scheduling_attempt_duration_seconds_bucket{result="scheduled",le="0.002"} 7
scheduler_scheduling_attempt_duration_seconds_bucket{result="scheduled",le="0.001"} 3
scheduler_scheduling_attempt_duration_seconds_bucket{result="scheduled",le="+Inf"} 8
scheduler_scheduling_attempt_duration_seconds_bucket{result="unschedulable",le="0.001"} 1
scheduler_scheduling_attempt_duration_seconds_bucket{result="unschedulable",le="+Inf"} 1
scheduler_scheduling_attempt_duration_seconds_sum{result="scheduled"} 0.01
scheduler_scheduling_attempt_duration_seconds_count{result="scheduled"} 8
scheduler_schedule_attempts_total{result="scheduled"} 8 1700000000000
odd_labels{a="x,y",b="say \"hi\"\\",} 1
go_goroutines 12
`
	samples, err := parseSamples(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	got := histogramBuckets(samples, "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"})
	want := []bucket{{0.001, 3}, {0.002, 7}, {math.Inf(1), 8}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("buckets: got %v, want %v", got, want)
	}
	if got := histogramMean(samples, "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"}); math.Abs(got-0.00125) > 1e-12 {
		t.Errorf("mean: got %v, want 0.00125", got)
	}
	if got := attemptCounts(samples); got["scheduled"] != 8 {
		t.Errorf("attempts: got %v, want scheduled=8", got)
	}
	odd := samples[len(samples)-2]
	if odd.labels["a"] != "x,y" || odd.labels["b"] != `say "hi"\` {
		t.Errorf("labels: got %q, want a=x,y and b=say \"hi\"\\", odd.labels)
	}
	if last := samples[len(samples)-1]; last.name != "go_goroutines" || last.value != 12 {
		t.Errorf("last sample: got %+v, want go_goroutines 12", last)
	}
}
