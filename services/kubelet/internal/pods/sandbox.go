package pods

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/events"
)

// sandbox is the pod's ready sandbox.
type sandbox struct {
	id     string
	ip     string
	config *runtimeapi.PodSandboxConfig
}

// ensureSandbox returns the pod's ready sandbox, making a new one (and
// stopping what ran in the old one) when there is none.
func (m *Manager) ensureSandbox(ctx context.Context, pod *corev1.Pod, st *syncState) (*sandbox, error) {
	if s := st.ps.readySandbox(); s != nil {
		cfg, _, err := m.sandboxConfig(pod, s.GetMetadata().GetAttempt())
		if err != nil {
			return nil, err
		}
		ip, err := m.sandboxIP(ctx, s.GetId())
		if err != nil {
			return nil, err
		}
		return &sandbox{id: s.GetId(), ip: ip, config: cfg}, nil
	}
	attempt := uint32(0)
	if len(st.ps.sandboxes) > 0 {
		attempt = st.ps.sandboxes[0].GetMetadata().GetAttempt() + 1
		m.podEvent(pod, events.Normal, "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		// The old sandbox died: what ran in it goes with it.
		if err := m.teardown(ctx, pod, st.ps, podGrace(pod)); err != nil {
			return nil, err
		}
	}
	cfg, dnsEvents, err := m.sandboxConfig(pod, attempt)
	if err != nil {
		return nil, m.sandboxFailed(pod, st, err)
	}
	m.recordDNSEvents(pod, dnsEvents)
	if err := os.MkdirAll(cfg.GetLogDirectory(), 0o755); err != nil {
		return nil, fmt.Errorf("make the pod's log directory: %w", err)
	}
	// The RuntimeClass is read when the sandbox is made, as Kubernetes'
	// kubelet does: a class that is gone fails the sandbox like a handler
	// the runtime does not know.
	handler, err := m.runtimeHandler(ctx, pod)
	if err == nil {
		var resp *runtimeapi.RunPodSandboxResponse
		resp, err = m.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
		if err == nil {
			return m.sandboxStarted(ctx, pod, st, resp.GetPodSandboxId(), cfg)
		}
	}
	return nil, m.sandboxFailed(pod, st, err)
}

// sandboxFailed reports a sandbox that could not be made as Kubernetes'
// kubelet does: the pod waits in ContainerCreating, with a
// FailedCreatePodSandBox event.
func (m *Manager) sandboxFailed(pod *corev1.Pod, st *syncState, err error) error {
	st.waiting[""] = &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: "Failed to create the pod sandbox: " + err.Error()}
	m.podEvent(pod, events.Warning, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
	return fmt.Errorf("run pod sandbox: %w", err)
}

// recordDNSEvents records the warnings forming the pod's DNS
// configuration raised, on the pod and, for some, the node.
func (m *Manager) recordDNSEvents(pod *corev1.Pod, evs []dnsEvent) {
	meta := pod.GetMetadata()
	for _, e := range evs {
		if !e.node {
			m.podEvent(pod, events.Warning, e.reason, "%s", e.message)
			continue
		}
		m.events.RefEventf(&corev1.ObjectReference{Kind: "Node", Name: m.cfg.NodeName, Uid: m.cfg.NodeName}, events.Warning, e.reason, "%s", e.message)
		m.podEvent(pod, events.Warning, e.reason, "pod: %q. %s", meta.GetName()+"_"+meta.GetNamespace()+"("+meta.GetUid()+")", e.message)
		slog.Warn("cluster DNS is not configured; the pod gets the node's resolver", "pod", meta.GetNamespace()+"/"+meta.GetName())
	}
}

// sandboxStarted finishes a sandbox the runtime has just made: its IP,
// its hosts file and the pod's runtime state anew.
func (m *Manager) sandboxStarted(ctx context.Context, pod *corev1.Pod, st *syncState, id string, cfg *runtimeapi.PodSandboxConfig) (*sandbox, error) {
	ip, err := m.sandboxIP(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := m.writeHosts(pod, ip); err != nil {
		return nil, err
	}
	fresh, err := listPod(ctx, m.rt, m.cfg.NodeName, pod.GetMetadata().GetUid())
	if err != nil {
		return nil, err
	}
	st.ps = fresh
	return &sandbox{id: id, ip: ip, config: cfg}, nil
}

// sandboxIP is the sandbox's pod IP: the node's on the host network.
func (m *Manager) sandboxIP(ctx context.Context, id string) (string, error) {
	if ip, ok := m.sandboxIPs.Load(id); ok {
		return ip.(string), nil
	}
	resp, err := m.rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		return "", fmt.Errorf("pod sandbox status: %w", err)
	}
	ip := resp.GetStatus().GetNetwork().GetIp()
	if resp.GetStatus().GetLinux().GetNamespaces().GetOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE {
		ip = m.cfg.NodeIP
	}
	m.sandboxIPs.Store(id, ip)
	return ip, nil
}

// sandboxConfig is the CRI description of the pod's sandbox, which
// containers are created with too, and the warnings its DNS
// configuration raised.
func (m *Manager) sandboxConfig(pod *corev1.Pod, attempt uint32) (*runtimeapi.PodSandboxConfig, []dnsEvent, error) {
	meta, spec := pod.GetMetadata(), pod.GetSpec()
	// On the host network the sandbox shares the node's UTS namespace
	// too: it gets no hostname of its own (the runtime would refuse one).
	hostname := ""
	if !spec.GetHostNetwork() {
		h, err := kernelHostname(pod, m.cfg.DNS.ClusterDomain)
		if err != nil {
			return nil, nil, err
		}
		hostname = h
	}
	dns, dnsEvents, err := m.cfg.DNS.podDNS(pod)
	if err != nil {
		return nil, nil, err
	}
	var ports []*runtimeapi.PortMapping
	for _, c := range spec.GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetHostPort() == 0 {
				continue
			}
			ports = append(ports, &runtimeapi.PortMapping{Protocol: protocol(p.GetProtocol()),
				ContainerPort: p.GetContainerPort(), HostPort: p.GetHostPort(), HostIp: p.GetHostIp()})
		}
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: meta.GetName(), Namespace: meta.GetNamespace(), Uid: meta.GetUid(), Attempt: attempt},
		Hostname:     hostname,
		LogDirectory: m.logDir(pod),
		DnsConfig:    dns,
		PortMappings: ports,
		Labels:       m.labels(pod, ""),
		Annotations:  map[string]string{annotationGrace: strconv.FormatInt(podGrace(pod), 10)},
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent:    m.cgroupParent(pod),
			SecurityContext: sandboxSecurity(pod),
			Sysctls:         podSysctls(pod),
		},
	}
	return cfg, dnsEvents, nil
}

func (m *Manager) labels(pod *corev1.Pod, container string) map[string]string {
	l := map[string]string{
		labelPodName: pod.GetMetadata().GetName(), labelPodNamespace: pod.GetMetadata().GetNamespace(),
		labelPodUID: pod.GetMetadata().GetUid(), labelNode: m.cfg.NodeName,
	}
	if container != "" {
		l[labelContainerName] = container
	}
	return l
}

func protocol(p string) runtimeapi.Protocol {
	switch p {
	case "UDP":
		return runtimeapi.Protocol_UDP
	case "SCTP":
		return runtimeapi.Protocol_SCTP
	}
	return runtimeapi.Protocol_TCP
}

func (m *Manager) podDir(uid string) string    { return filepath.Join(m.cfg.RootDir, "pods", uid) }
func (m *Manager) hostsFile(uid string) string { return filepath.Join(m.podDir(uid), "etc-hosts") }

// logDir is where the runtime writes the pod's container logs.
func (m *Manager) logDir(pod *corev1.Pod) string {
	meta := pod.GetMetadata()
	return filepath.Join(m.cfg.RootDir, "logs", meta.GetNamespace()+"_"+meta.GetName()+"_"+meta.GetUid())
}

// stopSandboxes stops the pod's sandboxes, which releases their network;
// ended containers stay for their logs.
func (m *Manager) stopSandboxes(ctx context.Context, ps *podState) error {
	for _, s := range ps.sandboxes {
		if s.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		if _, err := m.rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.GetId()}); err != nil {
			return fmt.Errorf("stop pod sandbox: %w", err)
		}
	}
	return nil
}
