package defaults

import (
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	metav1 "skiff.dev/api/meta/v1"
	nodev1 "skiff.dev/api/node/v1"
)

// Namespace: phase Active, the kubernetes finalizer while the namespace
// is not being deleted, and the kubernetes.io/metadata.name label.
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

// Node: canonical quantities, and allocatable equal to capacity when the
// node reports only its capacity.
func Node(n *corev1.Node) {
	if n.Spec == nil {
		n.Spec = &corev1.NodeSpec{}
	}
	st := n.GetStatus()
	if st == nil {
		return
	}
	if st.Allocatable == nil && st.Capacity != nil {
		st.Allocatable = make(map[string]*metav1.Quantity, len(st.Capacity))
		for k, q := range st.Capacity {
			st.Allocatable[k] = proto.Clone(q).(*metav1.Quantity)
		}
	}
	Canonical(st.Capacity)
	Canonical(st.Allocatable)
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

// Secret: type Opaque, and stringData folded into data (stringData wins)
// and cleared, as the Kubernetes apiserver does on write.
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

// RuntimeClass: canonical overhead quantities (node.k8s.io has no
// defaults of its own).
func RuntimeClass(rc *nodev1.RuntimeClass) {
	Canonical(rc.GetOverhead().GetPodFixed())
}

// Lease has no defaults.
func Lease(*coordinationv1.Lease) {}

// Deployment: one replica, RollingUpdate with 25% surge and 25%
// unavailable, ten old ReplicaSets kept, a 600 s progress deadline, and
// the pod template's defaults. The selector is not defaulted in apps/v1.
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
		ru := sp.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = &metav1.IntOrString{Type: 1, StrVal: "25%"}
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = &metav1.IntOrString{Type: 1, StrVal: "25%"}
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

// PodTemplate: the pod template's defaults, as a ReplicaSet's template
// gets.
func PodTemplate(pt *corev1.PodTemplate) {
	template(&pt.Template)
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

// EndpointSlice gives ports the TCP protocol and an empty name, as
// Kubernetes does.
func EndpointSlice(s *discoveryv1.EndpointSlice) {
	for _, p := range s.Ports {
		if p.Protocol == nil {
			p.Protocol = proto.String("TCP")
		}
		if p.Name == nil {
			p.Name = proto.String("")
		}
	}
}
