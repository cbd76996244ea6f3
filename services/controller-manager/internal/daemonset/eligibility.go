package daemonset

import (
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/nodematch"
)

// The labels a daemon pod carries, as Kubernetes sets them.
const (
	RevisionHashLabel       = "controller-revision-hash"
	TemplateGenerationLabel = "pod-template-generation"
	// TemplateGenerationAnnotation keeps a DaemonSet's template generation
	// in apps/v1.
	TemplateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

// automaticTolerations are the tolerations every daemon pod gets, so that
// node conditions neither keep it off a node nor evict it: daemons often
// are what makes a node healthy again.
var automaticTolerations = []*corev1.Toleration{
	{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute"},
	{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute"},
	{Key: "node.kubernetes.io/disk-pressure", Operator: "Exists", Effect: "NoSchedule"},
	{Key: "node.kubernetes.io/memory-pressure", Operator: "Exists", Effect: "NoSchedule"},
	{Key: "node.kubernetes.io/pid-pressure", Operator: "Exists", Effect: "NoSchedule"},
	{Key: "node.kubernetes.io/unschedulable", Operator: "Exists", Effect: "NoSchedule"},
}

// networkUnavailable is tolerated by host-network daemons, which bring the
// pod network up.
var networkUnavailable = &corev1.Toleration{Key: "node.kubernetes.io/network-unavailable", Operator: "Exists", Effect: "NoSchedule"}

// addTolerations adds the automatic tolerations the spec does not have
// yet, replacing one with the same key, operator and effect (a
// tolerationSeconds on not-ready would evict the daemon).
func addTolerations(spec *corev1.PodSpec) {
	want := automaticTolerations
	if spec.GetHostNetwork() {
		want = append(slices.Clone(want), networkUnavailable)
	}
	for _, t := range want {
		i := slices.IndexFunc(spec.Tolerations, func(o *corev1.Toleration) bool {
			return o.GetKey() == t.GetKey() && o.GetEffect() == t.GetEffect() && operator(o) == t.GetOperator()
		})
		c := proto.Clone(t).(*corev1.Toleration)
		if i >= 0 {
			spec.Tolerations[i] = c
		} else {
			spec.Tolerations = append(spec.Tolerations, c)
		}
	}
}

func operator(t *corev1.Toleration) string {
	if t.GetOperator() == "" {
		return "Equal"
	}
	return t.GetOperator()
}

// podTemplate is the template of the daemon's pods: the DaemonSet's own
// with the automatic tolerations and the template generation and revision
// hash labels.
func podTemplate(ds *appsv1.DaemonSet, hash string) *corev1.PodTemplateSpec {
	t := proto.Clone(ds.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
	if t.Metadata == nil {
		t.Metadata = &metav1.ObjectMeta{}
	}
	if t.Spec == nil {
		t.Spec = &corev1.PodSpec{}
	}
	addTolerations(t.Spec)
	if t.Metadata.Labels == nil {
		t.Metadata.Labels = map[string]string{}
	}
	if gen, ok := templateGeneration(ds); ok {
		t.Metadata.Labels[TemplateGenerationLabel] = strconv.FormatInt(gen, 10)
	}
	if hash != "" {
		t.Metadata.Labels[RevisionHashLabel] = hash
	}
	return t
}

func templateGeneration(ds *appsv1.DaemonSet) (int64, bool) {
	v, ok := ds.GetMetadata().GetAnnotations()[TemplateGenerationAnnotation]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// pinToNode replaces the required node affinity with one term that
// selects the node by name (matchFields metadata.name), as Kubernetes'
// DaemonSet controller does: the scheduler still places the pod, and
// checks its resources, ports and taints on that node.
func pinToNode(spec *corev1.PodSpec, node string) {
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
		NodeSelectorTerms: []*corev1.NodeSelectorTerm{{
			MatchFields: []*corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: "In", Values: []string{node}}},
		}},
	}
}

// targetNode is the node a daemon pod is for: its nodeName once bound,
// before that the node its affinity pins it to.
func targetNode(pod *corev1.Pod) string {
	if n := pod.GetSpec().GetNodeName(); n != "" {
		return n
	}
	for _, t := range pod.GetSpec().GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution().GetNodeSelectorTerms() {
		for _, r := range t.GetMatchFields() {
			if r.GetKey() == "metadata.name" && r.GetOperator() == "In" && len(r.GetValues()) == 1 {
				return r.GetValues()[0]
			}
		}
	}
	return ""
}

// shouldRun tells whether a daemon pod should be started on the node
// (its name, node selector, required affinity and taints allow it), and
// whether one already there may keep running (only untolerated NoExecute
// taints evict it).
func shouldRun(ds *appsv1.DaemonSet, node *corev1.Node) (run, keep bool) {
	spec := ds.GetSpec().GetTemplate().GetSpec()
	if n := spec.GetNodeName(); n != "" && n != node.GetMetadata().GetName() {
		return false, false
	}
	if !selectsNode(spec, node) {
		return false, false
	}
	// The automatic tolerations only add to what the pod tolerates, so
	// the template's with them appended decide as the pod's would.
	tolerations := append(slices.Clone(spec.GetTolerations()), automaticTolerations...)
	if spec.GetHostNetwork() {
		tolerations = append(tolerations, networkUnavailable)
	}
	noSchedule, noExecute := false, false
	for _, taint := range node.GetSpec().GetTaints() {
		if taint.GetEffect() != "NoSchedule" && taint.GetEffect() != "NoExecute" {
			continue
		}
		if nodematch.Tolerated(tolerations, taint) {
			continue
		}
		if taint.GetEffect() == "NoExecute" {
			noExecute = true
		}
		noSchedule = true
	}
	return !noSchedule, !noExecute
}

// selectsNode: the pod's nodeSelector and required node affinity match.
func selectsNode(spec *corev1.PodSpec, node *corev1.Node) bool { return nodematch.Required(spec, node) }
