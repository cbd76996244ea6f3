// Package defaults fills in what a client left out: the values Kubernetes'
// defaulting (and the admission plugins every cluster runs) gives each
// kind, so stored objects read exactly as they would from a Kubernetes
// apiserver. Every function mutates its argument in place and is safe to
// run again on an object it has already defaulted.
package defaults

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// setString sets an optional string that is unset or empty.
func setString(p **string, v string) {
	if *p == nil || **p == "" {
		*p = proto.String(v)
	}
}

// Pod defaults a pod: its spec, what Kubernetes does only for pods and not
// for templates (requests from limits, service links, host ports on the
// host network), what admission adds (the not-ready and unreachable
// tolerations), and the Pending phase and QoS class a new pod
// reports. The default service account is the ServiceAccount admission
// plugin's (admission/serviceaccount), as in Kubernetes: mirror pods, and
// every pod when the plugin is off, have none.
func Pod(p *corev1.Pod) {
	if p.Spec == nil {
		p.Spec = &corev1.PodSpec{}
	}
	s := p.Spec
	PodSpec(s)
	for _, c := range allContainers(s) {
		requestsFromLimits(c.Resources)
		if s.GetHostNetwork() {
			for _, port := range c.Ports {
				if port.HostPort == 0 {
					port.HostPort = port.ContainerPort
				}
			}
		}
	}
	if s.EnableServiceLinks == nil {
		s.EnableServiceLinks = proto.Bool(true)
	}
	// spec.priority and spec.preemptionPolicy are the Priority admission
	// plugin's, from the pod's PriorityClass, as in Kubernetes.
	defaultTolerationSeconds(s)
	if p.Status == nil {
		p.Status = &corev1.PodStatus{}
	}
	if p.Status.Phase == "" {
		p.Status.Phase = "Pending"
	}
	p.Status.QosClass = QOSClass(s)
}

// defaultTolerationSeconds is the DefaultTolerationSeconds admission
// plugin: a pod tolerates a not-ready or unreachable node for 300 s unless
// it already says otherwise.
func defaultTolerationSeconds(s *corev1.PodSpec) {
	for _, key := range []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} {
		found := false
		for _, t := range s.Tolerations {
			if (t.GetKey() == key || t.GetKey() == "") &&
				(t.GetEffect() == "NoExecute" || t.GetEffect() == "") {
				found = true
			}
		}
		if !found {
			s.Tolerations = append(s.Tolerations, &corev1.Toleration{Key: key, Operator: "Exists",
				Effect: "NoExecute", TolerationSeconds: proto.Int64(300)})
		}
	}
}

// PodSpec defaults a pod spec, standalone or in a template.
func PodSpec(s *corev1.PodSpec) {
	setString(&s.RestartPolicy, "Always")
	setString(&s.DnsPolicy, "ClusterFirst")
	setString(&s.SchedulerName, "default-scheduler")
	if s.TerminationGracePeriodSeconds == nil {
		s.TerminationGracePeriodSeconds = proto.Int64(30)
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	// serviceAccount is the deprecated spelling of serviceAccountName:
	// the newer field wins, and both read back the same.
	if s.GetServiceAccountName() == "" && s.GetServiceAccount() != "" {
		s.ServiceAccountName = proto.String(s.GetServiceAccount())
	}
	if s.GetServiceAccountName() != "" {
		s.ServiceAccount = proto.String(s.GetServiceAccountName())
	}
	for _, c := range allContainers(s) {
		container(c)
	}
	for _, ec := range s.GetEphemeralContainers() {
		if c := ec.GetEphemeralContainerCommon(); c != nil {
			container(c)
		}
	}
	for _, v := range s.Volumes {
		volume(v)
	}
	Canonical(s.Overhead)
}

func allContainers(s *corev1.PodSpec) []*corev1.Container {
	return append(append([]*corev1.Container{}, s.GetInitContainers()...), s.GetContainers()...)
}

// requestsFromLimits gives a pod's container a request equal to its
// limit where only the limit is set (Kubernetes does this for pods, not
// for templates).
func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r == nil || len(r.Limits) == 0 {
		return
	}
	if r.Requests == nil {
		r.Requests = map[string]*metav1.Quantity{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = proto.Clone(q).(*metav1.Quantity)
		}
	}
}
