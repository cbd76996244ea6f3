package quota

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/labels"
)

// The resource names a pod is charged for, besides huge pages and
// extended resources.
var podResources = []string{
	"count/pods", "cpu", "memory", "ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
	"limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
}

// requiredOnContainers are the resources every container must request
// or limit when a quota names them: Kubernetes keeps this rule of its
// first quotas for these six and no others.
var requiredOnContainers = []string{"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}

// pods is the evaluator of pods.
type pods struct{}

func (pods) GroupResource() (string, string) { return "", "pods" }

// Handles: pods are charged when created, and again when an update moves
// one in or out of the Terminating scope (activeDeadlineSeconds set or
// cleared); other writes do not change what a pod uses.
func (pods) Handles(op Operation, subresource string, obj, old proto.Message) bool {
	if subresource != "" {
		return false
	}
	if op == Update {
		pod, ok1 := obj.(*corev1.Pod)
		prev, ok2 := old.(*corev1.Pod)
		return ok1 && ok2 && terminating(pod) != terminating(prev)
	}
	return op == Create
}

func (pods) MatchingResources(names []string) []string {
	out := Intersection(names, podResources)
	for _, name := range names {
		if strings.HasPrefix(name, "hugepages-") || strings.HasPrefix(name, "requests.hugepages-") ||
			(!nativeResource(name) && strings.HasPrefix(name, "requests.")) {
			out = append(out, name)
		}
	}
	return out
}

func (pods) MatchesScope(s *corev1.ScopedResourceSelectorRequirement, obj proto.Message) (bool, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return false, fmt.Errorf("expected a Pod, got %T", obj)
	}
	switch s.GetScopeName() {
	case "Terminating":
		return terminating(pod), nil
	case "NotTerminating":
		return !terminating(pod), nil
	case "BestEffort":
		return bestEffort(pod), nil
	case "NotBestEffort":
		return !bestEffort(pod), nil
	case "PriorityClass":
		class := pod.GetSpec().GetPriorityClassName()
		if s.GetOperator() == "Exists" {
			return class != "", nil
		}
		switch s.GetOperator() {
		case "In", "NotIn", "DoesNotExist":
		default:
			return false, fmt.Errorf("%q is not a valid scope selector operator", s.GetOperator())
		}
		set := map[string]string{}
		if class != "" {
			set["PriorityClass"] = class
		}
		sel := &metav1.LabelSelector{MatchExpressions: []*metav1.LabelSelectorRequirement{
			{Key: "PriorityClass", Operator: s.GetOperator(), Values: s.GetValues()}}}
		return labels.Matches(sel, set), nil
	case "CrossNamespacePodAffinity":
		return crossNamespaceAffinity(pod), nil
	}
	return false, nil
}

// Constraints refuses a pod with a container that neither requests nor
// limits a cpu or memory resource the quota names.
func (pods) Constraints(required []string, obj proto.Message) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return fmt.Errorf("expected a Pod, got %T", obj)
	}
	need := Intersection(required, requiredOnContainers)
	missing := map[string][]string{}
	containers := slices.Concat(pod.GetSpec().GetContainers(), pod.GetSpec().GetInitContainers())
	for _, c := range containers {
		has := computeUsage(FromProto(c.GetResources().GetRequests()), FromProto(c.GetResources().GetLimits()))
		for _, name := range need {
			if _, ok := has[name]; !ok && !slices.Contains(missing[name], c.GetName()) {
				missing[name] = append(missing[name], c.GetName())
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(missing)) {
		names := missing[name]
		slices.Sort(names)
		parts = append(parts, fmt.Sprintf("%s for: %s", name, strings.Join(names, ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(parts, "; "))
}

// Usage is what a pod uses: always its count (count/pods, which counts
// every stored pod), and, while it has not finished, its compute
// resources and the "pods" count.
func (pods) Usage(obj proto.Message, now time.Time) (List, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("expected a Pod, got %T", obj)
	}
	out := List{"count/pods": *resource.NewQuantity(1, resource.DecimalSI)}
	if !Charged(pod, now) {
		return out, nil
	}
	return Add(out, computeUsage(PodRequests(pod.GetSpec()), PodLimits(pod.GetSpec()))), nil
}

// Charged reports whether a pod still counts against compute quota: it
// has not finished (Succeeded or Failed), and it is not a pod whose
// deletion's grace period has run out (a pod stuck on a lost node).
func Charged(pod *corev1.Pod, now time.Time) bool {
	switch pod.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return false
	}
	m := pod.GetMetadata()
	if m.GetDeletionTimestamp() != nil && m.DeletionGracePeriodSeconds != nil {
		end := m.GetDeletionTimestamp().AsTime().Add(time.Duration(m.GetDeletionGracePeriodSeconds()) * time.Second)
		if now.After(end) {
			return false
		}
	}
	return true
}

// computeUsage maps requests and limits to the quota's names: cpu and
// requests.cpu are the cpu request, limits.cpu its limit, the same for
// memory and ephemeral-storage; huge pages are charged by request under
// both names; an extended resource as requests.<name>.
func computeUsage(requests, limits List) List {
	out := List{"pods": resource.MustParse("1")}
	for _, name := range []string{"cpu", "memory", "ephemeral-storage"} {
		if q, ok := requests[name]; ok {
			out[name] = q
			out["requests."+name] = q
		}
		if q, ok := limits[name]; ok {
			out["limits."+name] = q
		}
	}
	for name, q := range requests {
		if strings.HasPrefix(name, "hugepages-") {
			out[name] = q
			out["requests."+name] = q
		}
		if extendedResource(name) {
			out["requests."+name] = q
		}
	}
	return out
}

// PodRequests is what a pod requests, as Kubernetes sums it: what its
// containers request (ContainerRequests) plus the pod's overhead.
func PodRequests(spec *corev1.PodSpec) List {
	out := ContainerRequests(spec)
	addTo(out, FromProto(spec.GetOverhead()))
	return out
}

// PodLimits is what a pod limits: what its containers limit
// (ContainerLimits), plus the overhead on the resources that have a
// limit.
func PodLimits(spec *corev1.PodSpec) List {
	out := ContainerLimits(spec)
	for name, q := range FromProto(spec.GetOverhead()) {
		if have, ok := out[name]; ok && !have.IsZero() {
			have.Add(q)
			out[name] = have
		}
	}
	return out
}

// ContainerRequests sums what a pod's containers request: the containers
// and the sidecars (init containers that keep running), or, if more,
// what the largest init container needs while it runs beside the
// sidecars started before it.
func ContainerRequests(spec *corev1.PodSpec) List {
	return aggregate(spec, func(c *corev1.Container) map[string]*metav1.Quantity { return c.GetResources().GetRequests() })
}

// ContainerLimits sums what a pod's containers limit, as
// ContainerRequests sums requests.
func ContainerLimits(spec *corev1.PodSpec) List {
	return aggregate(spec, func(c *corev1.Container) map[string]*metav1.Quantity { return c.GetResources().GetLimits() })
}

func aggregate(spec *corev1.PodSpec, of func(*corev1.Container) map[string]*metav1.Quantity) List {
	out := List{}
	for _, c := range spec.GetContainers() {
		addTo(out, FromProto(of(c)))
	}
	sidecars, init := List{}, List{}
	for _, c := range spec.GetInitContainers() {
		own := FromProto(of(c))
		var running List
		if c.GetRestartPolicy() == "Always" {
			addTo(out, own)
			addTo(sidecars, own)
			running = sidecars
		} else {
			running = List{}
			addTo(running, own)
			addTo(running, sidecars)
		}
		maxInto(init, running)
	}
	maxInto(out, init)
	return out
}

// terminating: the pod has an active deadline, so it ends by itself.
func terminating(pod *corev1.Pod) bool {
	d := pod.GetSpec().ActiveDeadlineSeconds
	return d != nil && *d >= 0
}

// bestEffort: the pod's QoS class is BestEffort, from its status or, when
// the status has none yet, computed: no container requests or limits any
// cpu or memory.
func bestEffort(pod *corev1.Pod) bool {
	if class := pod.GetStatus().GetQosClass(); class != "" {
		return class == "BestEffort"
	}
	for _, c := range slices.Concat(pod.GetSpec().GetContainers(), pod.GetSpec().GetInitContainers()) {
		for _, list := range []map[string]*metav1.Quantity{c.GetResources().GetRequests(), c.GetResources().GetLimits()} {
			for _, name := range []string{"cpu", "memory"} {
				if q, ok := FromProto(list)[name]; ok && q.Sign() > 0 {
					return false
				}
			}
		}
	}
	return true
}

// crossNamespaceAffinity: a pod (anti-)affinity term of the pod reaches
// into other namespaces (by name or by selector).
func crossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.GetSpec().GetAffinity()
	var terms []*corev1.PodAffinityTerm
	terms = append(terms, a.GetPodAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()...)
	terms = append(terms, a.GetPodAntiAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()...)
	for _, w := range slices.Concat(a.GetPodAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution(),
		a.GetPodAntiAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution()) {
		terms = append(terms, w.GetPodAffinityTerm())
	}
	for _, t := range terms {
		if len(t.GetNamespaces()) > 0 || t.GetNamespaceSelector() != nil {
			return true
		}
	}
	return false
}

// nativeResource is a resource Kubernetes itself names: no domain, or a
// kubernetes.io one.
func nativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
}

// extendedResource is a domain-qualified resource outside kubernetes.io
// whose quota name, requests.<name>, is a valid qualified name.
func extendedResource(name string) bool {
	if nativeResource(name) || strings.HasPrefix(name, "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+name)) == 0
}
