// Package defaults fills in what a client left out, the values Kubernetes'
// defaulting gives each kind, so stored objects read exactly as they would
// from a Kubernetes apiserver.
package defaults

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"

	appsv1 "skiff.dev/api/apps/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func setString(p **string, v string) {
	if *p == nil || **p == "" {
		*p = proto.String(v)
	}
}

// Pod defaults a pod: its spec, the default service account, and the
// Pending phase and QoS class a new pod reports.
func Pod(p *corev1.Pod) {
	if p.Spec == nil {
		p.Spec = &corev1.PodSpec{}
	}
	PodSpec(p.Spec)
	if p.Spec.GetServiceAccountName() == "" {
		if sa := p.Spec.GetServiceAccount(); sa != "" {
			p.Spec.ServiceAccountName = proto.String(sa)
		} else {
			p.Spec.ServiceAccountName = proto.String("default")
		}
	}
	for _, c := range append(append([]*corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		requestsFromLimits(c.Resources)
	}
	if p.Spec.Priority == nil {
		p.Spec.Priority = proto.Int32(0)
	}
	if p.Status == nil {
		p.Status = &corev1.PodStatus{}
	}
	if p.Status.Phase == "" {
		p.Status.Phase = "Pending"
	}
	p.Status.QosClass = QOSClass(p.Spec)
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
	if s.EnableServiceLinks == nil {
		s.EnableServiceLinks = proto.Bool(true)
	}
	if s.ServiceAccountName == nil && s.ServiceAccount != nil {
		s.ServiceAccountName = proto.String(s.GetServiceAccount())
	}
	for _, c := range s.Containers {
		container(c)
	}
	for _, c := range s.InitContainers {
		container(c)
	}
	for _, v := range s.Volumes {
		volume(v)
	}
	for _, t := range s.Tolerations {
		if t.Operator == "" {
			t.Operator = "Equal"
		}
	}
}

func container(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = PullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = "/dev/termination-log"
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = "File"
	}
	for _, p := range c.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
	}
	for _, e := range c.Env {
		if f := e.GetValueFrom().GetFieldRef(); f != nil && f.ApiVersion == "" {
			f.ApiVersion = "v1"
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		probe(p)
	}
	if c.Resources == nil {
		c.Resources = &corev1.ResourceRequirements{}
	}
	Canonical(c.Resources.Limits)
	Canonical(c.Resources.Requests)
}

// Canonical rewrites quantities in their canonical form ("1000m" becomes
// "1", "1.5Gi" becomes "1536Mi"), as Kubernetes stores them; unparsable
// ones are left for validation to report.
func Canonical(list map[string]*metav1.Quantity) {
	for _, q := range list {
		if v, err := resource.ParseQuantity(q.GetString_()); err == nil {
			q.String_ = v.String()
		}
	}
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

// PullPolicy is the pull policy Kubernetes gives an image without one:
// Always for :latest or no tag, IfNotPresent otherwise.
func PullPolicy(image string) string {
	if strings.Contains(image, "@") {
		return "IfNotPresent"
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	if !ok || tag == "latest" {
		return "Always"
	}
	return "IfNotPresent"
}

func probe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if h := p.GetHandler().GetHttpGet(); h != nil && h.Scheme == "" {
		h.Scheme = "HTTP"
	}
}

func volume(v *corev1.Volume) {
	src := v.VolumeSource
	if src == nil || proto.Size(src) == 0 && src.EmptyDir == nil {
		v.VolumeSource = &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		return
	}
	if cm := src.ConfigMap; cm != nil && cm.DefaultMode == nil {
		cm.DefaultMode = proto.Int32(0o644)
	}
	if s := src.Secret; s != nil && s.DefaultMode == nil {
		s.DefaultMode = proto.Int32(0o644)
	}
	if p := src.Projected; p != nil && p.DefaultMode == nil {
		p.DefaultMode = proto.Int32(0o644)
	}
	if d := src.DownwardApi; d != nil && d.DefaultMode == nil {
		d.DefaultMode = proto.Int32(0o644)
	}
	if h := src.HostPath; h != nil && h.Type == nil {
		h.Type = proto.String("")
	}
}

// QOSClass is the quality-of-service class of a pod spec: Guaranteed when
// every container has equal cpu and memory requests and limits,
// BestEffort when none has any, Burstable otherwise.
func QOSClass(s *corev1.PodSpec) string {
	all := append(append([]*corev1.Container{}, s.GetInitContainers()...), s.GetContainers()...)
	any, guaranteed := false, len(all) > 0
	for _, c := range all {
		req, lim := c.GetResources().GetRequests(), c.GetResources().GetLimits()
		for _, name := range []string{"cpu", "memory"} {
			r, l := req[name], lim[name]
			if r != nil || l != nil {
				any = true
			}
			if l == nil || r == nil || r.GetString_() != l.GetString_() {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return "BestEffort"
	case guaranteed:
		return "Guaranteed"
	}
	return "Burstable"
}

// Namespace: phase Active, the kubernetes finalizer, and the
// kubernetes.io/metadata.name label.
func Namespace(ns *corev1.Namespace) {
	if ns.Spec == nil {
		ns.Spec = &corev1.NamespaceSpec{}
	}
	if len(ns.Spec.Finalizers) == 0 && ns.GetMetadata().GetDeletionTimestamp() == nil {
		ns.Spec.Finalizers = []string{"kubernetes"}
	}
	if ns.Status == nil {
		ns.Status = &corev1.NamespaceStatus{}
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = "Active"
	}
	if ns.Metadata != nil && ns.Metadata.Name != "" {
		if ns.Metadata.Labels == nil {
			ns.Metadata.Labels = map[string]string{}
		}
		ns.Metadata.Labels["kubernetes.io/metadata.name"] = ns.Metadata.Name
	}
}

// Node has no defaults beyond an empty spec.
func Node(n *corev1.Node) {
	if n.Spec == nil {
		n.Spec = &corev1.NodeSpec{}
	}
	Canonical(n.GetStatus().GetCapacity())
	Canonical(n.GetStatus().GetAllocatable())
}

// Service: ClusterIP type, no session affinity, TCP ports whose target
// port is the port, Cluster traffic policies, IPv4 single stack.
func Service(s *corev1.Service) {
	if s.Spec == nil {
		s.Spec = &corev1.ServiceSpec{}
	}
	sp := s.Spec
	if sp.Type == "" {
		sp.Type = "ClusterIP"
	}
	if sp.SessionAffinity == "" {
		sp.SessionAffinity = "None"
	}
	if sp.SessionAffinity == "ClientIP" {
		if sp.SessionAffinityConfig == nil {
			sp.SessionAffinityConfig = &corev1.SessionAffinityConfig{}
		}
		if sp.SessionAffinityConfig.ClientIp == nil {
			sp.SessionAffinityConfig.ClientIp = &corev1.ClientIPConfig{}
		}
		if sp.SessionAffinityConfig.ClientIp.TimeoutSeconds == nil {
			sp.SessionAffinityConfig.ClientIp.TimeoutSeconds = proto.Int32(10800)
		}
	}
	for _, p := range sp.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		if p.TargetPort == nil || (p.TargetPort.GetType() == 0 && p.TargetPort.GetIntVal() == 0) && p.TargetPort.GetStrVal() == "" {
			p.TargetPort = &metav1.IntOrString{Type: 0, IntVal: p.Port}
		}
	}
	if sp.Type == "ExternalName" {
		return
	}
	setString(&sp.InternalTrafficPolicy, "Cluster")
	if (sp.Type == "NodePort" || sp.Type == "LoadBalancer") && sp.ExternalTrafficPolicy == "" {
		sp.ExternalTrafficPolicy = "Cluster"
	}
	if sp.Type == "LoadBalancer" && sp.AllocateLoadBalancerNodePorts == nil {
		sp.AllocateLoadBalancerNodePorts = proto.Bool(true)
	}
	if len(sp.IpFamilies) == 0 {
		sp.IpFamilies = []string{"IPv4"}
	}
	setString(&sp.IpFamilyPolicy, "SingleStack")
	if sp.ClusterIp != "" && len(sp.ClusterIps) == 0 {
		sp.ClusterIps = []string{sp.ClusterIp}
	}
}

// Endpoints: TCP ports.
func Endpoints(e *corev1.Endpoints) {
	for _, s := range e.Subsets {
		for _, p := range s.Ports {
			if p.Protocol == "" {
				p.Protocol = "TCP"
			}
		}
	}
}

// ConfigMap has no defaults.
func ConfigMap(*corev1.ConfigMap) {}

// Secret: type Opaque, and stringData folded into data (stringData wins),
// as the Kubernetes apiserver does on write.
func Secret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = "Opaque"
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// ServiceAccount has no defaults.
func ServiceAccount(*corev1.ServiceAccount) {}

// Event has no defaults in core/v1.
func Event(*corev1.Event) {}

// Lease has no defaults.
func Lease(*coordinationv1.Lease) {}

func percent(s string) *metav1.IntOrString {
	return &metav1.IntOrString{Type: 1, StrVal: s}
}

// Deployment: one replica, RollingUpdate 25%/25%, ten old ReplicaSets
// kept, a 600 s progress deadline, and the pod template's defaults.
func Deployment(d *appsv1.Deployment) {
	if d.Spec == nil {
		d.Spec = &appsv1.DeploymentSpec{}
	}
	sp := d.Spec
	if sp.Replicas == nil {
		sp.Replicas = proto.Int32(1)
	}
	if sp.Strategy == nil {
		sp.Strategy = &appsv1.DeploymentStrategy{}
	}
	if sp.Strategy.Type == "" {
		sp.Strategy.Type = "RollingUpdate"
	}
	if sp.Strategy.Type == "RollingUpdate" {
		if sp.Strategy.RollingUpdate == nil {
			sp.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if sp.Strategy.RollingUpdate.MaxUnavailable == nil {
			sp.Strategy.RollingUpdate.MaxUnavailable = percent("25%")
		}
		if sp.Strategy.RollingUpdate.MaxSurge == nil {
			sp.Strategy.RollingUpdate.MaxSurge = percent("25%")
		}
	}
	if sp.RevisionHistoryLimit == nil {
		sp.RevisionHistoryLimit = proto.Int32(10)
	}
	if sp.ProgressDeadlineSeconds == nil {
		sp.ProgressDeadlineSeconds = proto.Int32(600)
	}
	template(&sp.Template)
}

// ReplicaSet: one replica and the pod template's defaults.
func ReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.Spec == nil {
		rs.Spec = &appsv1.ReplicaSetSpec{}
	}
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = proto.Int32(1)
	}
	template(&rs.Spec.Template)
}

func template(t **corev1.PodTemplateSpec) {
	if *t == nil {
		*t = &corev1.PodTemplateSpec{}
	}
	if (*t).Spec == nil {
		(*t).Spec = &corev1.PodSpec{}
	}
	PodSpec((*t).Spec)
}
