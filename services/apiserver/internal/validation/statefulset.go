package validation

import (
	"google.golang.org/protobuf/proto"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var claimRetentionPolicies = []string{"Retain", "Delete"}

// ValidateStatefulSetCreate checks what Kubernetes checks only when a
// StatefulSet is created, as both never change: the service name and the
// volume claim templates.
func ValidateStatefulSetCreate(s *appsv1.StatefulSet) field.ErrorList {
	sp, p := s.GetSpec(), field.NewPath("spec")
	var errs field.ErrorList
	for i, c := range sp.GetVolumeClaimTemplates() {
		errs = append(errs, ValidatePersistentVolumeClaimSpec(c.GetSpec(), p.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
	}
	if sp.GetServiceName() != "" {
		errs = append(errs, invalid(p.Child("serviceName"), sp.GetServiceName(), validation.IsDNS1123Label(sp.GetServiceName()))...)
	}
	return errs
}

// ValidateStatefulSet checks a StatefulSet's spec, on create and update.
func ValidateStatefulSet(s *appsv1.StatefulSet) field.ErrorList {
	sp, p := s.GetSpec(), field.NewPath("spec")
	var errs field.ErrorList
	switch sp.GetPodManagementPolicy() {
	case "":
		errs = append(errs, field.Required(p.Child("podManagementPolicy"), ""))
	case "OrderedReady", "Parallel":
	default:
		errs = append(errs, field.Invalid(p.Child("podManagementPolicy"), sp.GetPodManagementPolicy(), "must be 'OrderedReady' or 'Parallel'"))
	}
	errs = append(errs, validateStatefulSetStrategy(sp.GetUpdateStrategy(), p.Child("updateStrategy"))...)
	if rp := sp.GetPersistentVolumeClaimRetentionPolicy(); rp != nil {
		rpp := p.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, retentionPolicy(rp.GetWhenDeleted(), rpp.Child("whenDeleted"))...)
		errs = append(errs, retentionPolicy(rp.GetWhenScaled(), rpp.Child("whenScaled"))...)
	}
	errs = append(errs, nonNegative(int64(sp.GetReplicas()), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(sp.GetMinReadySeconds()), p.Child("minReadySeconds"))...)
	if sp.GetOrdinals() != nil {
		errs = append(errs, nonNegative(int64(sp.GetOrdinals().GetStart()), p.Child("ordinals.start"))...)
	}
	sel := sp.GetSelector()
	if sel == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, validateLabelSelector(sel, p.Child("selector"))...)
		if len(sel.GetMatchLabels())+len(sel.GetMatchExpressions()) == 0 {
			errs = append(errs, field.Invalid(p.Child("selector"), selectorString(sel), "empty selector is invalid for statefulset"))
		}
	}
	tp := p.Child("template")
	if selector, err := k8smeta.LabelSelectorAsSelector(toK8sSelector(sel)); err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), selectorString(sel), ""))
	} else if tmpl := sp.GetTemplate(); tmpl == nil {
		errs = append(errs, field.Required(tp, ""))
	} else {
		if !selector.Empty() && !selector.Matches(k8slabels.Set(tmpl.GetMetadata().GetLabels())) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), k8slabels.Set(tmpl.GetMetadata().GetLabels()).String(),
				"`selector` does not match template `labels`"))
		}
		errs = append(errs, ValidatePodTemplateSpec(templateWithClaims(sp), tp)...)
	}
	if rp := sp.GetTemplate().GetSpec().GetRestartPolicy(); rp != "Always" {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"Always"}))
	}
	if sp.GetTemplate().GetSpec().ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	return errs
}

// templateWithClaims is the template as the controller makes its pods:
// hostname and subdomain are the controller's, and each claim template
// is a volume (replacing a volume of the same name).
func templateWithClaims(sp *appsv1.StatefulSetSpec) *corev1.PodTemplateSpec {
	t := proto.Clone(sp.GetTemplate()).(*corev1.PodTemplateSpec)
	if t.Spec == nil {
		return t
	}
	t.Spec.Hostname, t.Spec.Subdomain = nil, nil
	if len(sp.GetVolumeClaimTemplates()) == 0 {
		return t
	}
	claims := map[string]bool{}
	var vols []*corev1.Volume
	for _, c := range sp.GetVolumeClaimTemplates() {
		name := c.GetMetadata().GetName()
		if claims[name] {
			continue
		}
		claims[name] = true
		vols = append(vols, &corev1.Volume{Name: name, VolumeSource: &corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	}
	for _, v := range t.Spec.Volumes {
		if !claims[v.GetName()] {
			vols = append(vols, v)
		}
	}
	t.Spec.Volumes = vols
	return t
}

func retentionPolicy(v string, p *field.Path) field.ErrorList {
	if v != "Retain" && v != "Delete" {
		return field.ErrorList{field.NotSupported(p, v, claimRetentionPolicies)}
	}
	return nil
}

func validateStatefulSetStrategy(st *appsv1.StatefulSetUpdateStrategy, p *field.Path) field.ErrorList {
	switch st.GetType() {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case "OnDelete":
		if st.GetRollingUpdate() != nil {
			return field.ErrorList{field.Invalid(p.Child("rollingUpdate"), "", "only allowed for updateStrategy 'RollingUpdate'")}
		}
	case "RollingUpdate":
		ru := st.GetRollingUpdate()
		if ru == nil {
			return nil
		}
		rp := p.Child("rollingUpdate")
		errs := nonNegative(int64(ru.GetPartition()), rp.Child("partition"))
		if mu := ru.GetMaxUnavailable(); mu != nil {
			mp := rp.Child("maxUnavailable")
			errs = append(errs, intOrPercent(mu, mp)...)
			if scaledValue(mu) == 0 {
				errs = append(errs, field.Invalid(mp, intOrStringValue(mu), "cannot be 0"))
			}
			if mu.GetType() == 1 && len(validation.IsValidPercent(mu.GetStrVal())) == 0 && scaledValue(mu) > 100 {
				errs = append(errs, field.Invalid(mp, mu.GetStrVal(), "must not be greater than 100%"))
			}
		}
		return errs
	default:
		return field.ErrorList{field.Invalid(p, st.GetType(), "must be 'RollingUpdate' or 'OnDelete'")}
	}
	return nil
}

// ValidateStatefulSetUpdate (the new spec is checked by
// ValidateStatefulSet as well) allows changes of the replicas, ordinals,
// template, update strategy, revision history limit, claim retention
// policy and minReadySeconds only, as Kubernetes does.
func ValidateStatefulSetUpdate(s, old *appsv1.StatefulSet) field.ErrorList {
	var errs field.ErrorList
	next := proto.Clone(s.GetSpec()).(*appsv1.StatefulSetSpec)
	prev := old.GetSpec()
	if next == nil {
		next = &appsv1.StatefulSetSpec{}
	}
	next.Replicas, next.Template, next.UpdateStrategy = prev.Replicas, prev.GetTemplate(), prev.GetUpdateStrategy()
	next.MinReadySeconds, next.Ordinals, next.RevisionHistoryLimit = prev.GetMinReadySeconds(), prev.GetOrdinals(), prev.RevisionHistoryLimit
	next.PersistentVolumeClaimRetentionPolicy = prev.GetPersistentVolumeClaimRetentionPolicy()
	if !proto.Equal(next, prev) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

// ValidateStatefulSetStatusUpdate checks the counts of a status write:
// none negative, none above status.replicas, available within ready, and
// a collision count that never goes down.
func ValidateStatefulSetStatusUpdate(s, old *appsv1.StatefulSet) field.ErrorList {
	st, p := s.GetStatus(), field.NewPath("status")
	var errs field.ErrorList
	counts := []struct {
		name string
		v    int32
	}{{"replicas", st.GetReplicas()}, {"readyReplicas", st.GetReadyReplicas()}, {"currentReplicas", st.GetCurrentReplicas()},
		{"updatedReplicas", st.GetUpdatedReplicas()}, {"availableReplicas", st.GetAvailableReplicas()}}
	for _, c := range counts {
		errs = append(errs, nonNegative(int64(c.v), p.Child(c.name))...)
	}
	errs = append(errs, nonNegative(st.GetObservedGeneration(), p.Child("observedGeneration"))...)
	if st.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(st.GetCollisionCount()), p.Child("collisionCount"))...)
	}
	for _, c := range counts[1:] {
		if c.v > st.GetReplicas() {
			errs = append(errs, field.Invalid(p.Child(c.name), c.v, "cannot be greater than status.replicas"))
		}
	}
	if st.GetAvailableReplicas() > st.GetReadyReplicas() {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), st.GetAvailableReplicas(), "cannot be greater than status.readyReplicas"))
	}
	if prev := old.GetStatus(); prev != nil && prev.CollisionCount != nil && (st.CollisionCount == nil || st.GetCollisionCount() < prev.GetCollisionCount()) {
		errs = append(errs, field.Invalid(p.Child("collisionCount"), st.GetCollisionCount(), "cannot be decremented"))
	}
	return errs
}
