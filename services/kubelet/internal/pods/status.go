package pods

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// reportStatus computes the pod's status from what the runtime holds and
// what this sync found, and hands it to the status sink.
func (m *Manager) reportStatus(ctx context.Context, pod *corev1.Pod, st *syncState) {
	m.status.Set(pod, m.podStatus(ctx, pod, st))
}

func (m *Manager) podStatus(ctx context.Context, pod *corev1.Pod, st *syncState) *corev1.PodStatus {
	old := pod.GetStatus()
	out := &corev1.PodStatus{
		QosClass:          old.GetQosClass(),
		NominatedNodeName: old.GetNominatedNodeName(),
		HostIp:            m.cfg.NodeIP,
		HostIps:           []*corev1.HostIP{{Ip: m.cfg.NodeIP}},
		StartTime:         old.GetStartTime(),
	}
	if out.StartTime == nil {
		out.StartTime = timestamppb.New(m.startedAt(pod.GetMetadata().GetUid()))
	}
	ps := st.ps
	st.defaultWaiting = defaultWaitingReason(pod)
	var sbID string
	if s := ps.readySandbox(); s != nil {
		sbID = s.GetId()
		if ip, err := m.sandboxIP(ctx, sbID); err == nil && ip != "" {
			out.PodIp, out.PodIps = ip, []*corev1.PodIP{{Ip: ip}}
		}
	} else if len(ps.sandboxes) > 0 {
		sbID = ps.sandboxes[0].GetId()
		out.PodIp, out.PodIps = old.GetPodIp(), old.GetPodIps()
	}
	if pod.GetSpec().GetHostNetwork() {
		out.PodIp, out.PodIps = m.cfg.NodeIP, []*corev1.PodIP{{Ip: m.cfg.NodeIP}}
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		out.InitContainerStatuses = append(out.InitContainerStatuses, m.containerStatusOf(ctx, c, ps, sbID, st, true))
	}
	for _, c := range pod.GetSpec().GetContainers() {
		out.ContainerStatuses = append(out.ContainerStatuses, m.containerStatusOf(ctx, c, ps, sbID, st, false))
	}
	for _, ec := range pod.GetSpec().GetEphemeralContainers() {
		out.EphemeralContainerStatuses = append(out.EphemeralContainerStatuses,
			m.containerStatusOf(ctx, ec.GetEphemeralContainerCommon(), ps, sbID, st, false))
	}
	out.Phase = phase(pod, out)
	switch {
	case st.failure != nil:
		out.Phase, out.Reason, out.Message = "Failed", st.failure.reason, st.failure.message
	case phaseDone(pod):
		// A terminal phase is never left, nor why it was reached.
		out.Phase, out.Reason, out.Message = old.GetPhase(), old.GetReason(), old.GetMessage()
	}
	out.Conditions = m.conditions(pod, out, st)
	if st.volumeErr != nil && out.Message == "" {
		out.Message = st.volumeErr.Error()
	}
	return out
}

// containerStatusOf describes a container: its newest instance's state,
// the one before as lastState, readiness from its probes.
func (m *Manager) containerStatusOf(ctx context.Context, spec *corev1.Container, ps *podState, sbID string, st *syncState, init bool) *corev1.ContainerStatus {
	out := &corev1.ContainerStatus{Name: spec.GetName(), Image: spec.GetImage(), Started: proto.Bool(false),
		State: &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: st.defaultWaiting}}}
	var inst []*runtimeapi.Container
	for _, c := range ps.containers {
		if c.GetMetadata().GetName() == spec.GetName() {
			inst = append(inst, c)
		}
	}
	if len(inst) > 0 {
		cur := m.containerStatus(ctx, inst[0].GetId())
		out.State = containerState(cur)
		out.RestartCount = restartCountOf(inst[0])
		out.ContainerId = "containerd://" + cur.GetId()
		out.ImageId = cur.GetImageRef()
		if cur.GetImage().GetUserSpecifiedImage() != "" {
			out.Image = cur.GetImage().GetUserSpecifiedImage()
		}
		running := cur.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING && inst[0].GetPodSandboxId() == sbID
		out.Started = proto.Bool(running && m.probes.started(cur.GetId()))
		out.Ready = running && out.GetStarted() && m.probes.ready(cur.GetId()) && !init
		if init {
			out.Ready = cur.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED && cur.GetExitCode() == 0
		}
		if len(inst) > 1 {
			out.LastState = containerState(m.containerStatus(ctx, inst[1].GetId()))
		}
	}
	if w, ok := st.waiting[spec.GetName()]; ok {
		if t := out.GetState().GetTerminated(); t != nil {
			out.LastState = out.State
		}
		out.State = &corev1.ContainerState{Waiting: w}
	} else if w, ok := st.waiting[""]; ok && len(inst) == 0 {
		out.State = &corev1.ContainerState{Waiting: w}
	}
	return out
}

// defaultWaitingReason is why a container that has no instance yet waits,
// as Kubernetes words it: every container of a pod with init containers
// (theirs included) is PodInitializing, else ContainerCreating.
func defaultWaitingReason(pod *corev1.Pod) string {
	if len(pod.GetSpec().GetInitContainers()) > 0 {
		return "PodInitializing"
	}
	return "ContainerCreating"
}

// containerState turns a CRI container status into Kubernetes' state.
func containerState(cs *runtimeapi.ContainerStatus) *corev1.ContainerState {
	ts := func(ns int64) *timestamppb.Timestamp {
		if ns == 0 {
			return nil
		}
		return timestamppb.New(time.Unix(0, ns))
	}
	switch cs.GetState() {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		return &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ts(cs.GetStartedAt())}}
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		reason := cs.GetReason()
		if reason == "" || (reason != "OOMKilled" && reason != "ContainerCannotRun") {
			reason = "Completed"
			if cs.GetExitCode() != 0 {
				reason = "Error"
			}
		}
		return &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: cs.GetExitCode(), Reason: reason, Message: cs.GetMessage(),
			StartedAt: ts(cs.GetStartedAt()), FinishedAt: ts(cs.GetFinishedAt()), ContainerId: "containerd://" + cs.GetId()}}
	}
	return &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
}

// phase applies Kubernetes' rules: Pending until the init containers are
// done and every container has started; Running while any runs or will be
// restarted; Succeeded or Failed once all ended for good.
func phase(pod *corev1.Pod, st *corev1.PodStatus) string {
	for _, c := range st.GetInitContainerStatuses() {
		if t := c.GetState().GetTerminated(); t != nil && t.GetExitCode() == 0 {
			continue
		}
		if t := c.GetState().GetTerminated(); t != nil && pod.GetSpec().GetRestartPolicy() == "Never" {
			return "Failed"
		}
		return "Pending"
	}
	var running, waiting, succeeded, failed int
	for _, c := range st.GetContainerStatuses() {
		switch {
		case c.GetState().GetRunning() != nil:
			running++
		case c.GetState().GetTerminated() != nil:
			if c.GetState().GetTerminated().GetExitCode() == 0 {
				succeeded++
			} else {
				failed++
			}
		case c.GetLastState().GetTerminated() != nil:
			// Waiting to be restarted: it ran before.
			if c.GetLastState().GetTerminated().GetExitCode() == 0 {
				succeeded++
			} else {
				failed++
			}
			if pod.GetSpec().GetRestartPolicy() != "Never" {
				running++
			}
		default:
			waiting++
		}
	}
	switch policy := pod.GetSpec().GetRestartPolicy(); {
	case waiting > 0:
		return "Pending"
	case running > 0:
		return "Running"
	case policy == "Always":
		return "Running"
	case policy == "OnFailure" && failed > 0:
		return "Running"
	case failed > 0:
		return "Failed"
	}
	return "Succeeded"
}

// conditions are PodScheduled, Initialized, ContainersReady and Ready (with
// the readiness gates), keeping transition times of unchanged conditions.
func (m *Manager) conditions(pod *corev1.Pod, st *corev1.PodStatus, ss *syncState) []*corev1.PodCondition {
	initialized, initReason := true, ""
	for _, c := range st.GetInitContainerStatuses() {
		if !c.GetReady() {
			initialized, initReason = false, "ContainersNotInitialized"
		}
	}
	ready, readyReason := initialized, ""
	for _, c := range st.GetContainerStatuses() {
		if !c.GetReady() {
			ready, readyReason = false, "ContainersNotReady"
		}
	}
	if st.GetPhase() == "Succeeded" || st.GetPhase() == "Failed" {
		ready, readyReason = false, "PodCompleted"
	}
	podReady, podReason := ready, readyReason
	for _, g := range pod.GetSpec().GetReadinessGates() {
		if !conditionTrue(pod.GetStatus().GetConditions(), g.GetConditionType()) {
			podReady, podReason = false, "ReadinessGatesNotReady"
		}
	}
	sandboxReady := ss.ps.readySandbox() != nil
	want := []*corev1.PodCondition{
		cond("PodReadyToStartContainers", sandboxReady, ""),
		cond("Initialized", initialized, initReason),
		cond("Ready", podReady, podReason),
		cond("ContainersReady", ready, readyReason),
		cond("PodScheduled", true, ""),
	}
	now := timestamppb.Now()
	old := pod.GetStatus().GetConditions()
	for _, c := range want {
		c.LastTransitionTime = now
		for _, o := range old {
			if o.GetType() == c.GetType() && o.GetStatus() == c.GetStatus() {
				c.LastTransitionTime = o.GetLastTransitionTime()
			}
		}
	}
	// Keep conditions others own (readiness gates, DisruptionTarget).
	for _, o := range old {
		if !hasCondition(want, o.GetType()) {
			want = append(want, o)
		}
	}
	return want
}

func cond(typ string, ok bool, reason string) *corev1.PodCondition {
	s := "False"
	if ok {
		s, reason = "True", ""
	}
	return &corev1.PodCondition{Type: typ, Status: s, Reason: reason}
}

func conditionTrue(conds []*corev1.PodCondition, typ string) bool {
	for _, c := range conds {
		if c.GetType() == typ {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func hasCondition(conds []*corev1.PodCondition, typ string) bool {
	for _, c := range conds {
		if c.GetType() == typ {
			return true
		}
	}
	return false
}
