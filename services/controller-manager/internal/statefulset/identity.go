package statefulset

import (
	"regexp"
	"strconv"

	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/controller-manager/internal/controller"
)

// The labels that give a pod its identity in its set, as Kubernetes
// names them.
const (
	PodNameLabel  = "statefulset.kubernetes.io/pod-name"
	PodIndexLabel = "apps.kubernetes.io/pod-index"
)

// podName is "<set>-<ordinal>" with the ordinal last.
var podName = regexp.MustCompile(`(.*)-([0-9]+)$`)

// parentAndOrdinal splits a pod's name into its set's name and its
// ordinal; the ordinal is -1 for a name that has none.
func parentAndOrdinal(pod *corev1.Pod) (string, int) {
	m := podName.FindStringSubmatch(pod.GetMetadata().GetName())
	if m == nil {
		return "", -1
	}
	n, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(n)
}

func ordinalOf(pod *corev1.Pod) int {
	_, n := parentAndOrdinal(pod)
	return n
}

// startOrdinal is spec.ordinals.start, 0 without it.
func startOrdinal(set *appsv1.StatefulSet) int { return int(set.GetSpec().GetOrdinals().GetStart()) }

// endOrdinal is the last ordinal the replicas take.
func endOrdinal(set *appsv1.StatefulSet) int {
	return startOrdinal(set) + int(set.GetSpec().GetReplicas()) - 1
}

// inRange reports whether the pod's ordinal is one the set keeps.
func inRange(pod *corev1.Pod, set *appsv1.StatefulSet) bool {
	n := ordinalOf(pod)
	return n >= startOrdinal(set) && n <= endOrdinal(set)
}

func nameFor(set *appsv1.StatefulSet, ordinal int) string {
	return set.GetMetadata().GetName() + "-" + strconv.Itoa(ordinal)
}

// claimName is "<template>-<set>-<ordinal>".
func claimName(set *appsv1.StatefulSet, tmpl *corev1.PersistentVolumeClaim, ordinal int) string {
	return tmpl.GetMetadata().GetName() + "-" + nameFor(set, ordinal)
}

// isMember reports whether the pod's name makes it one of the set's.
func isMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, n := parentAndOrdinal(pod)
	return n >= 0 && parent == set.GetMetadata().GetName()
}

// identityMatches reports whether the pod has the name, namespace and
// identity labels of its ordinal.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, n := parentAndOrdinal(pod)
	l := pod.GetMetadata().GetLabels()
	return n >= 0 && parent == set.GetMetadata().GetName() && pod.GetMetadata().GetName() == nameFor(set, n) &&
		pod.GetMetadata().GetNamespace() == set.GetMetadata().GetNamespace() &&
		l[PodNameLabel] == pod.GetMetadata().GetName() && l[PodIndexLabel] == strconv.Itoa(n)
}

// updateIdentity gives the pod the identity labels of its ordinal.
func updateIdentity(set *appsv1.StatefulSet, pod *corev1.Pod) {
	n := ordinalOf(pod)
	m := pod.GetMetadata()
	m.Name, m.Namespace = nameFor(set, n), set.GetMetadata().GetNamespace()
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[PodNameLabel] = m.Name
	m.Labels[PodIndexLabel] = strconv.Itoa(n)
}

// claimsFor are the claims the pod's ordinal uses, by template name:
// each template named for the ordinal, labelled with the set's selector.
func claimsFor(set *appsv1.StatefulSet, ordinal int) []*corev1.PersistentVolumeClaim {
	var out []*corev1.PersistentVolumeClaim
	for _, tmpl := range set.GetSpec().GetVolumeClaimTemplates() {
		c := &corev1.PersistentVolumeClaim{Metadata: proto.Clone(tmpl.GetMetadata()).(*metav1.ObjectMeta),
			Spec: proto.Clone(tmpl.GetSpec()).(*corev1.PersistentVolumeClaimSpec)}
		if c.Metadata == nil {
			c.Metadata = &metav1.ObjectMeta{}
		}
		c.Metadata.Name, c.Metadata.Namespace = claimName(set, tmpl, ordinal), set.GetMetadata().GetNamespace()
		c.Metadata.ResourceVersion, c.Metadata.Uid = "", ""
		if c.Metadata.Labels == nil {
			c.Metadata.Labels = map[string]string{}
		}
		for k, v := range set.GetSpec().GetSelector().GetMatchLabels() {
			c.Metadata.Labels[k] = v
		}
		out = append(out, c)
	}
	return out
}

// storageMatches reports whether each claim template is a volume of the
// pod that uses its ordinal's claim.
func storageMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	n := ordinalOf(pod)
	if n < 0 {
		return false
	}
	vols := map[string]*corev1.Volume{}
	for _, v := range pod.GetSpec().GetVolumes() {
		vols[v.GetName()] = v
	}
	for _, tmpl := range set.GetSpec().GetVolumeClaimTemplates() {
		v, ok := vols[tmpl.GetMetadata().GetName()]
		if !ok || v.GetVolumeSource().GetPersistentVolumeClaim().GetClaimName() != claimName(set, tmpl, n) {
			return false
		}
	}
	return true
}

// updateStorage makes each claim template a volume of the pod, in place
// of a volume of the same name.
func updateStorage(set *appsv1.StatefulSet, pod *corev1.Pod) {
	n := ordinalOf(pod)
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	claimed := map[string]bool{}
	var vols []*corev1.Volume
	for _, tmpl := range set.GetSpec().GetVolumeClaimTemplates() {
		name := tmpl.GetMetadata().GetName()
		if claimed[name] {
			continue
		}
		claimed[name] = true
		vols = append(vols, &corev1.Volume{Name: name, VolumeSource: &corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, tmpl, n)}}})
	}
	for _, v := range pod.Spec.Volumes {
		if !claimed[v.GetName()] {
			vols = append(vols, v)
		}
	}
	pod.Spec.Volumes = vols
}

// OwnerReference is the controller reference a StatefulSet puts on its
// pods and revisions.
func OwnerReference(set *appsv1.StatefulSet) *metav1.OwnerReference {
	return controller.OwnerReference("apps/v1", "StatefulSet", set.GetMetadata())
}

// newPod is the pod of an ordinal from the set's template: its name,
// identity labels, hostname and subdomain (the governing service), and
// its claims as volumes.
func newPod(set *appsv1.StatefulSet, ordinal int) *corev1.Pod {
	tmpl := set.GetSpec().GetTemplate()
	meta := &metav1.ObjectMeta{Labels: map[string]string{}}
	for k, v := range tmpl.GetMetadata().GetLabels() {
		meta.Labels[k] = v
	}
	if a := tmpl.GetMetadata().GetAnnotations(); len(a) > 0 {
		meta.Annotations = map[string]string{}
		for k, v := range a {
			meta.Annotations[k] = v
		}
	}
	meta.Finalizers = append([]string(nil), tmpl.GetMetadata().GetFinalizers()...)
	meta.Name = nameFor(set, ordinal)
	meta.OwnerReferences = []*metav1.OwnerReference{OwnerReference(set)}
	spec, _ := proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec)
	if spec == nil {
		spec = &corev1.PodSpec{}
	}
	pod := &corev1.Pod{Metadata: meta, Spec: spec}
	updateIdentity(set, pod)
	pod.Spec.Hostname = proto.String(meta.Name)
	if svc := set.GetSpec().GetServiceName(); svc != "" {
		pod.Spec.Subdomain = proto.String(svc)
	}
	updateStorage(set, pod)
	return pod
}
