package framework

import (
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// Resource is an amount of cpu (millicores), memory (bytes), pods and
// any other resource by name.
type Resource struct {
	MilliCPU int64
	Memory   int64
	Pods     int64
	Scalar   map[string]int64
}

// Add adds r2 to r.
func (r *Resource) Add(r2 Resource) {
	r.MilliCPU += r2.MilliCPU
	r.Memory += r2.Memory
	r.Pods += r2.Pods
	for k, v := range r2.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[string]int64{}
		}
		r.Scalar[k] += v
	}
}

// Sub takes r2 from r.
func (r *Resource) Sub(r2 Resource) {
	r.MilliCPU -= r2.MilliCPU
	r.Memory -= r2.Memory
	r.Pods -= r2.Pods
	for k, v := range r2.Scalar {
		if r.Scalar != nil {
			r.Scalar[k] -= v
		}
	}
}

// ResourceList reads a Kubernetes resource list.
func ResourceList(list map[string]*metav1.Quantity) Resource {
	var r Resource
	for name, q := range list {
		v, err := resource.ParseQuantity(q.GetString_())
		if err != nil {
			continue // validated by the apiserver
		}
		switch name {
		case "cpu":
			r.MilliCPU = v.MilliValue()
		case "memory":
			r.Memory = v.Value()
		case "pods":
			r.Pods = v.Value()
		default:
			if r.Scalar == nil {
				r.Scalar = map[string]int64{}
			}
			r.Scalar[name] = v.Value()
		}
	}
	return r
}

// PodRequests is what a pod asks for: the sum of its containers, or the
// largest init container if that is more, plus its overhead; every pod
// counts as one against the node's pod capacity.
func PodRequests(pod *corev1.Pod) Resource {
	var sum Resource
	for _, c := range pod.GetSpec().GetContainers() {
		sum.Add(ResourceList(c.GetResources().GetRequests()))
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		r := ResourceList(c.GetResources().GetRequests())
		sum.MilliCPU = max(sum.MilliCPU, r.MilliCPU)
		sum.Memory = max(sum.Memory, r.Memory)
		for k, v := range r.Scalar {
			if sum.Scalar == nil {
				sum.Scalar = map[string]int64{}
			}
			sum.Scalar[k] = max(sum.Scalar[k], v)
		}
	}
	sum.Add(ResourceList(pod.GetSpec().GetOverhead()))
	sum.Pods = 1
	return sum
}

// Requests a container without any counts for when scoring, as in
// Kubernetes, so pods without requests still spread.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 << 20
)

// NonZeroRequests are a pod's cpu and memory requests for scoring: each
// container without a cpu or memory request counts the defaults.
func NonZeroRequests(pod *corev1.Pod) (milliCPU, memory int64) {
	for _, c := range pod.GetSpec().GetContainers() {
		r := ResourceList(c.GetResources().GetRequests())
		if r.MilliCPU == 0 {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if r.Memory == 0 {
			r.Memory = DefaultMemoryRequest
		}
		milliCPU += r.MilliCPU
		memory += r.Memory
	}
	return milliCPU, memory
}

// HostPort is a port a pod takes on its node.
type HostPort struct {
	IP       string
	Protocol string
	Port     int32
}

// HostPorts lists the host ports a pod uses.
func HostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	for _, c := range pod.GetSpec().GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetHostPort() == 0 {
				continue
			}
			ip := p.GetHostIp()
			if ip == "" {
				ip = "0.0.0.0"
			}
			proto := p.GetProtocol()
			if proto == "" {
				proto = "TCP"
			}
			out = append(out, HostPort{IP: ip, Protocol: proto, Port: p.GetHostPort()})
		}
	}
	return out
}

// NodeInfo is a node and what is running on it, as the scheduler sees it
// (including pods it assumed but has not bound yet).
type NodeInfo struct {
	Node      *corev1.Node
	Pods      []*corev1.Pod
	Requested Resource
	// NonZeroCPU and NonZeroMemory sum the pods' NonZeroRequests.
	NonZeroCPU, NonZeroMemory int64
	Allocatable               Resource
	UsedPorts                 []HostPort
	// PodsWithRequiredAntiAffinity are the pods whose required
	// anti-affinity every newcomer must respect.
	PodsWithRequiredAntiAffinity []*corev1.Pod
}

func hasRequiredAntiAffinity(p *corev1.Pod) bool {
	return len(p.GetSpec().GetAffinity().GetPodAntiAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()) > 0
}

// NewNodeInfo describes a node with no pods.
func NewNodeInfo(node *corev1.Node) *NodeInfo {
	return &NodeInfo{Node: node, Allocatable: ResourceList(node.GetStatus().GetAllocatable())}
}

// Name is the node's name.
func (n *NodeInfo) Name() string { return n.Node.GetMetadata().GetName() }

// AddPod counts a pod on the node.
func (n *NodeInfo) AddPod(pod *corev1.Pod) {
	n.Pods = append(n.Pods, pod)
	n.Requested.Add(PodRequests(pod))
	cpu, mem := NonZeroRequests(pod)
	n.NonZeroCPU += cpu
	n.NonZeroMemory += mem
	n.UsedPorts = append(n.UsedPorts, HostPorts(pod)...)
	if hasRequiredAntiAffinity(pod) {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pod)
	}
}

// RemovePod stops counting a pod; it reports whether the pod was there.
func (n *NodeInfo) RemovePod(uid string) bool {
	for i, p := range n.Pods {
		if p.GetMetadata().GetUid() != uid {
			continue
		}
		n.Pods = append(n.Pods[:i], n.Pods[i+1:]...)
		n.Requested.Sub(PodRequests(p))
		cpu, mem := NonZeroRequests(p)
		n.NonZeroCPU -= cpu
		n.NonZeroMemory -= mem
		n.UsedPorts = nil
		n.PodsWithRequiredAntiAffinity = nil
		for _, q := range n.Pods {
			n.UsedPorts = append(n.UsedPorts, HostPorts(q)...)
			if hasRequiredAntiAffinity(q) {
				n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, q)
			}
		}
		return true
	}
	return false
}

// Clone copies the node info for a snapshot; pods are shared, read-only.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = append([]*corev1.Pod(nil), n.Pods...)
	c.UsedPorts = append([]HostPort(nil), n.UsedPorts...)
	c.PodsWithRequiredAntiAffinity = append([]*corev1.Pod(nil), n.PodsWithRequiredAntiAffinity...)
	c.Requested.Scalar = cloneMap(n.Requested.Scalar)
	c.Allocatable.Scalar = cloneMap(n.Allocatable.Scalar)
	return &c
}

func cloneMap(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
