package pods

import (
	"context"
	"strings"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// Probe kinds.
const (
	startupProbe   = "startup"
	livenessProbe  = "liveness"
	readinessProbe = "readiness"
)

// prober runs a container's probes, one goroutine per probe, and kicks the
// pod's worker when a result changes. Liveness and readiness wait until a
// startup probe has succeeded.
type prober struct {
	rt   runtimeapi.RuntimeServiceClient
	kick func(uid string)
	// failed hears of every failed probe run (nil: nobody listens).
	failed func(pod *corev1.Pod, container, kind string, err error)

	mu      sync.Mutex
	ctx     context.Context
	workers map[string]context.CancelFunc // containerID/kind
	results map[string]probeResult
	pods    map[string]map[string]bool // uid → container ids
	wg      sync.WaitGroup
}

type probeResult struct {
	ok      bool
	message string
}

func newProber(rt runtimeapi.RuntimeServiceClient, kick func(string)) *prober {
	return &prober{rt: rt, kick: kick, workers: map[string]context.CancelFunc{}, results: map[string]probeResult{},
		pods: map[string]map[string]bool{}}
}

func (p *prober) start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctx = ctx
}

// ensure starts the probes of a running container that are not running.
func (p *prober) ensure(pod *corev1.Pod, spec *corev1.Container, containerID, podIP string) {
	uid := pod.GetMetadata().GetUid()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.ctx.Err() != nil {
		return
	}
	for kind, probe := range map[string]*corev1.Probe{startupProbe: spec.GetStartupProbe(),
		livenessProbe: spec.GetLivenessProbe(), readinessProbe: spec.GetReadinessProbe()} {
		key := containerID + "/" + kind
		if probe == nil || p.workers[key] != nil {
			continue
		}
		ctx, cancel := context.WithCancel(p.ctx)
		p.workers[key] = cancel
		// Until a probe has spoken: live, not ready, not started.
		p.results[key] = probeResult{ok: kind == livenessProbe}
		if p.pods[uid] == nil {
			p.pods[uid] = map[string]bool{}
		}
		p.pods[uid][containerID] = true
		w := &probeWorker{p: p, pod: pod, uid: uid, key: key, kind: kind, probe: probe, spec: spec, containerID: containerID, podIP: podIP,
			hasStartup: spec.GetStartupProbe() != nil}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w.run(ctx)
		}()
	}
}

// result is a probe's verdict; ok is true when the container has no such
// probe.
func (p *prober) result(containerID, kind string) probeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.results[containerID+"/"+kind]; ok {
		return r
	}
	return probeResult{ok: true}
}

// killReason says why a running container must be restarted, if it must.
func (p *prober) killReason(containerID string) string {
	if r := p.result(containerID, startupProbe); !r.ok && r.message != "" {
		return "failed startup probe: " + r.message
	}
	if r := p.result(containerID, livenessProbe); !r.ok {
		return "failed liveness probe: " + r.message
	}
	return ""
}

func (p *prober) ready(containerID string) bool   { return p.result(containerID, readinessProbe).ok }
func (p *prober) started(containerID string) bool { return p.result(containerID, startupProbe).ok }

// stop ends a container's probes.
func (p *prober) stop(containerID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(containerID)
}

func (p *prober) stopLocked(containerID string) {
	for key, cancel := range p.workers {
		if strings.HasPrefix(key, containerID+"/") {
			cancel()
			delete(p.workers, key)
			delete(p.results, key)
		}
	}
}

// forgetPod ends the probes of every container of a pod.
func (p *prober) forgetPod(uid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.pods[uid] {
		p.stopLocked(id)
	}
	delete(p.pods, uid)
}

func (p *prober) stopAll() {
	p.mu.Lock()
	for _, cancel := range p.workers {
		cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *prober) set(key string, r probeResult) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.workers[key]; !ok {
		return false
	}
	old := p.results[key]
	p.results[key] = r
	return old.ok != r.ok || (old.message == "") != (r.message == "")
}

// probeWorker runs one probe of one container every period.
type probeWorker struct {
	p                   *prober
	pod                 *corev1.Pod
	uid, key, kind      string
	probe               *corev1.Probe
	spec                *corev1.Container
	containerID, podIP  string
	hasStartup          bool
	successes, failures int32
}

func (w *probeWorker) run(ctx context.Context) {
	period := time.Duration(max(w.probe.GetPeriodSeconds(), 1)) * time.Second
	timeout := time.Duration(max(w.probe.GetTimeoutSeconds(), 1)) * time.Second
	next := time.Duration(w.probe.GetInitialDelaySeconds()) * time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
		next = period
		if w.kind != startupProbe && w.hasStartup && !w.p.started(w.containerID) {
			continue
		}
		h := w.probe.GetHandler()
		err := runAction(ctx, w.p.rt, action{exec: h.GetExec(), http: h.GetHttpGet(), tcp: h.GetTcpSocket(), grpc: h.GetGrpc()},
			w.spec, w.containerID, w.podIP, timeout)
		if ctx.Err() != nil {
			return
		}
		if err != nil && w.p.failed != nil {
			w.p.failed(w.pod, w.spec.GetName(), w.kind, err)
		}
		if w.observe(err) {
			w.p.kick(w.uid)
		}
		if w.kind == startupProbe && w.p.started(w.containerID) {
			return // a startup probe stops once it succeeded
		}
	}
}

// observe counts a probe outcome against the thresholds and reports
// whether the verdict changed.
func (w *probeWorker) observe(err error) bool {
	success := max(w.probe.GetSuccessThreshold(), 1)
	failure := max(w.probe.GetFailureThreshold(), 1)
	if err == nil {
		w.successes, w.failures = w.successes+1, 0
		if w.successes >= success {
			return w.p.set(w.key, probeResult{ok: true})
		}
		return false
	}
	w.successes, w.failures = 0, w.failures+1
	if w.failures >= failure {
		return w.p.set(w.key, probeResult{ok: false, message: err.Error()})
	}
	return false
}
