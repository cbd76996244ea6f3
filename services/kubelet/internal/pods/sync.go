package pods

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
	"skiff.dev/pkg/telemetry"
	"skiff.dev/services/kubelet/internal/status"
)

// retryAfter is how soon a sync that failed on the runtime is retried.
const retryAfter = time.Second

// sync drives one pod toward its spec and reports its status. done means
// the pod is gone from the API and the runtime holds nothing of it.
func (m *Manager) sync(ctx context.Context, uid string) (requeue time.Duration, done bool) {
	pod, ok := m.source.Pod(uid)
	ps, err := listPod(ctx, m.rt, m.cfg.NodeName, uid)
	if err != nil {
		slog.WarnContext(ctx, "list the pod's containers", "uid", uid, "err", err)
		return retryAfter, false
	}
	if !ok {
		// The object is gone (or never was ours): stop and remove what the
		// runtime still holds, gently if the grace period is known.
		if err := m.teardown(ctx, nil, ps, graceOf(ps)); err != nil {
			slog.WarnContext(ctx, "remove the containers of a deleted pod", "uid", uid, "err", err)
			return retryAfter, false
		}
		if err := m.forget(ctx, uid); err != nil {
			slog.WarnContext(ctx, "clean up a deleted pod", "uid", uid, "err", err)
			return retryAfter, false
		}
		return 0, true
	}
	if status.ContinuesTrace(pod) {
		ctx = telemetry.ContextFromAnnotations(ctx, pod.GetMetadata().GetAnnotations())
	}
	log := slog.With("pod", podKey(pod))
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		if err := m.teardown(ctx, pod, ps, deletionGrace(pod)); err != nil {
			log.WarnContext(ctx, "stop a deleted pod", "err", err)
			return retryAfter, false
		}
		if err := m.removeVolumes(ctx, pod); err != nil {
			// As Kubernetes: the pod object stays until its volumes are
			// unmounted.
			log.WarnContext(ctx, "tear down the volumes of a deleted pod", "err", err)
			return retryAfter, false
		}
		if err := m.deleter(ctx, pod); err != nil {
			log.WarnContext(ctx, "finish the deletion of a pod", "err", err)
			return retryAfter, false
		}
		return 0, false // the DELETE event ends the worker
	}
	if m.startedAt(uid).IsZero() {
		m.setStarted(uid, time.Now())
	}
	requeue, err = m.syncRunning(ctx, pod, ps)
	if err != nil {
		log.WarnContext(ctx, "sync pod", "err", err)
		return retryAfter, false
	}
	return requeue, false
}

// syncRunning brings up the sandbox, runs the init containers in order and
// then the containers, restarting them as the restart policy says, and
// reports the status.
func (m *Manager) syncRunning(ctx context.Context, pod *corev1.Pod, ps *podState) (time.Duration, error) {
	st := &syncState{waiting: map[string]*corev1.ContainerStateWaiting{}}
	defer func() { m.reportStatus(ctx, pod, st) }()
	st.ps = ps
	failed, untilDeadline := m.checkDeadline(pod, time.Now())
	if failed == nil && !phaseDone(pod) {
		failed = m.admit(pod, ps)
	}
	st.failure = failed
	if failed != nil && !phaseDone(pod) {
		m.failureEvent(pod, failed)
	}
	if failed != nil || phaseDone(pod) {
		// Nothing will run again: stop what still runs and release the
		// sandbox's network, keep the containers for their status and logs.
		if err := m.killPod(ctx, pod, ps); err != nil {
			return retryAfter, err
		}
		// As Kubernetes: the volumes of a pod that runs nothing again go
		// at once, not at its deletion (CSI volumes are unpublished, and
		// unstaged when no other pod on the node uses them).
		if err := m.removeVolumes(ctx, pod); err != nil {
			return retryAfter, err
		}
		if fresh, err := listPod(ctx, m.rt, m.cfg.NodeName, pod.GetMetadata().GetUid()); err == nil {
			st.ps = fresh
		}
		return 0, nil
	}
	if err := m.setUpVolumes(ctx, pod, st); err != nil {
		return retryAfter * 2, nil
	}
	sb, err := m.ensureSandbox(ctx, pod, st)
	if err != nil || sb == nil {
		return retryAfter * 2, err
	}
	st.sandbox = sb
	requeue, initDone := m.syncInitContainers(ctx, pod, st)
	if initDone {
		requeue = minRequeue(requeue, m.syncContainers(ctx, pod, st))
		requeue = minRequeue(requeue, m.syncEphemeralContainers(ctx, pod, st))
	}
	requeue = minRequeue(requeue, untilDeadline)
	// The status shows what was started just now.
	if fresh, err := listPod(ctx, m.rt, m.cfg.NodeName, pod.GetMetadata().GetUid()); err == nil {
		st.ps = fresh
	}
	return requeue, nil
}

// syncState carries one sync's findings to the status it reports.
type syncState struct {
	ps      *podState
	sandbox *sandbox
	// waiting holds why a container is not running (image pull, back-off,
	// configuration errors).
	waiting map[string]*corev1.ContainerStateWaiting
	// volumeErr is why the pod's volumes could not be set up.
	volumeErr error
	// failure is why the kubelet ended the pod for good (phase Failed).
	failure *failure
	// defaultWaiting is why a container without an instance waits.
	defaultWaiting string
}

// syncInitContainers runs init containers one at a time, each after the
// previous one succeeded. done tells whether all have succeeded.
func (m *Manager) syncInitContainers(ctx context.Context, pod *corev1.Pod, st *syncState) (requeue time.Duration, done bool) {
	for _, spec := range pod.GetSpec().GetInitContainers() {
		inst := st.ps.containersOf(st.sandbox.id, spec.GetName())
		if len(inst) == 0 {
			return m.start(ctx, pod, spec, st, true), false
		}
		c := inst[0]
		switch c.GetState() {
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			cs := m.containerStatus(ctx, c.GetId())
			if cs.GetExitCode() == 0 {
				continue
			}
			if pod.GetSpec().GetRestartPolicy() == "Never" {
				return 0, false
			}
			return m.restart(ctx, pod, spec, st, c, true), false
		default:
			return 0, false // running or being created: wait for it
		}
	}
	return 0, true
}

// syncContainers starts the containers that should run, restarts the ones
// that ended or failed their liveness probe as the restart policy says.
func (m *Manager) syncContainers(ctx context.Context, pod *corev1.Pod, st *syncState) time.Duration {
	var requeue time.Duration
	for _, spec := range pod.GetSpec().GetContainers() {
		inst := st.ps.containersOf(st.sandbox.id, spec.GetName())
		if len(inst) == 0 {
			requeue = minRequeue(requeue, m.start(ctx, pod, spec, st, false))
			continue
		}
		c := inst[0]
		switch c.GetState() {
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			m.probes.ensure(pod, spec, c.GetId(), st.sandbox.ip)
			if reason := m.probes.killReason(c.GetId()); reason != "" {
				slog.InfoContext(ctx, "kill container", "pod", podKey(pod), "container", spec.GetName(), "reason", reason)
				m.containerEvent(pod, spec.GetName(), events.Normal, "Killing", "Container %s %s, will be restarted", spec.GetName(), strings.SplitN(reason, ":", 2)[0])
				if err := m.killContainer(ctx, pod, c, podGrace(pod)); err != nil {
					slog.WarnContext(ctx, "kill container", "pod", podKey(pod), "container", spec.GetName(), "err", err)
				}
				requeue = minRequeue(requeue, retryAfter)
			}
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			m.probes.stop(c.GetId())
			if !shouldRestart(pod, m.containerStatus(ctx, c.GetId())) {
				continue
			}
			requeue = minRequeue(requeue, m.restart(ctx, pod, spec, st, c, false))
		case runtimeapi.ContainerState_CONTAINER_CREATED:
			// Created but never started (the kubelet stopped in between).
			_ = m.removeContainer(ctx, c.GetId())
			requeue = minRequeue(requeue, retryAfter)
		}
	}
	return requeue
}

// restart starts a new instance of a container that ended, unless its
// back-off has not passed yet.
func (m *Manager) restart(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, st *syncState, prev *runtimeapi.Container, init bool) time.Duration {
	key := pod.GetMetadata().GetUid() + "/" + spec.GetName()
	finishedAt := time.Unix(0, m.containerStatus(ctx, prev.GetId()).GetFinishedAt())
	if wait := m.backoff.wait(key, finishedAt, time.Now()); wait > 0 {
		st.waiting[spec.GetName()] = &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: "back-off " + m.backoff.delay(key).String() + " restarting failed container=" + spec.GetName() + " pod=" + podKey(pod)}
		m.containerEvent(pod, spec.GetName(), events.Warning, "BackOff", "Back-off restarting failed container %s in pod %s", spec.GetName(), podDescription(pod))
		return wait
	}
	m.backoff.next(key, time.Now())
	// Keep one ended instance per container for `kubectl logs --previous`.
	for _, old := range st.ps.containers {
		if old.GetMetadata().GetName() == spec.GetName() && old.GetId() != prev.GetId() && old.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED {
			_ = m.removeContainer(ctx, old.GetId())
		}
	}
	return m.start(ctx, pod, spec, st, init)
}

// shouldRestart applies the pod's restart policy to an ended container.
func shouldRestart(pod *corev1.Pod, cs *runtimeapi.ContainerStatus) bool {
	switch pod.GetSpec().GetRestartPolicy() {
	case "Never":
		return false
	case "OnFailure":
		return cs.GetExitCode() != 0
	}
	return true
}

// phaseDone reports whether the pod's reported phase is terminal.
func phaseDone(pod *corev1.Pod) bool {
	p := pod.GetStatus().GetPhase()
	return p == "Succeeded" || p == "Failed"
}

func minRequeue(a, b time.Duration) time.Duration {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func podKey(pod *corev1.Pod) string {
	return pod.GetMetadata().GetNamespace() + "/" + pod.GetMetadata().GetName()
}

// podGrace is the pod's termination grace period in seconds.
func podGrace(pod *corev1.Pod) int64 {
	if g := pod.GetSpec().TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return 30
}

// deletionGrace is the grace period the deletion asked for.
func deletionGrace(pod *corev1.Pod) int64 {
	if g := pod.GetMetadata().DeletionGracePeriodSeconds; g != nil {
		return *g
	}
	return podGrace(pod)
}

// graceOf reads the grace period stored on the pod's sandbox.
func graceOf(ps *podState) int64 {
	for _, s := range ps.sandboxes {
		if g, err := strconv.ParseInt(s.GetAnnotations()[annotationGrace], 10, 64); err == nil {
			return g
		}
	}
	return 2
}
