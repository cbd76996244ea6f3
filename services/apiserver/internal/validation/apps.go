package validation

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/proto"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var deploymentStrategies = []string{"Recreate", "RollingUpdate"}

// toK8sSelector converts a selector for apimachinery's checks.
func toK8sSelector(sel *metav1.LabelSelector) *k8smeta.LabelSelector {
	if sel == nil {
		return nil
	}
	out := &k8smeta.LabelSelector{MatchLabels: sel.GetMatchLabels()}
	for _, r := range sel.GetMatchExpressions() {
		out.MatchExpressions = append(out.MatchExpressions, k8smeta.LabelSelectorRequirement{
			Key: r.GetKey(), Operator: k8smeta.LabelSelectorOperator(r.GetOperator()), Values: r.GetValues()})
	}
	return out
}

func validateLabelSelector(sel *metav1.LabelSelector, p *field.Path) field.ErrorList {
	return fromK8s(metavalidation.ValidateLabelSelector(toK8sSelector(sel),
		metavalidation.LabelSelectorValidationOptions{}, k8sPath(p)))
}

// validateReplicated checks what Deployments and ReplicaSets share: a
// non-negative replica count, a non-empty selector that selects the
// template's labels, and a pod template that restarts Always.
func validateReplicated(kind string, replicas *int32, minReady int32, sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) field.ErrorList {
	p := field.NewPath("spec")
	var errs field.ErrorList
	if replicas != nil {
		errs = append(errs, nonNegative(int64(*replicas), p.Child("replicas"))...)
	}
	errs = append(errs, nonNegative(int64(minReady), p.Child("minReadySeconds"))...)
	if sel == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, validateLabelSelector(sel, p.Child("selector"))...)
		if len(sel.GetMatchLabels())+len(sel.GetMatchExpressions()) == 0 {
			errs = append(errs, field.Invalid(p.Child("selector"), selectorString(sel), "empty selector is invalid for "+kind))
		}
	}
	selector, err := k8smeta.LabelSelectorAsSelector(toK8sSelector(sel))
	if err != nil {
		return append(errs, field.Invalid(p.Child("selector"), selectorString(sel), "invalid label selector"))
	}
	tp := p.Child("template")
	if tmpl == nil {
		return append(errs, field.Required(tp, ""))
	}
	if !selector.Empty() && !selector.Matches(k8slabels.Set(tmpl.GetMetadata().GetLabels())) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), k8slabels.Set(tmpl.GetMetadata().GetLabels()).String(),
			"`selector` does not match template `labels`"))
	}
	errs = append(errs, ValidatePodTemplateSpec(tmpl, tp)...)
	if rp := tmpl.GetSpec().GetRestartPolicy(); rp != "Always" {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"Always"}))
	}
	if tmpl.GetSpec().ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

// selectorString renders a selector for a message, as kubectl would write
// it on the command line.
func selectorString(sel *metav1.LabelSelector) string {
	s, err := k8smeta.LabelSelectorAsSelector(toK8sSelector(sel))
	if err != nil {
		return k8slabels.Set(sel.GetMatchLabels()).String()
	}
	return s.String()
}

// ValidateDeployment checks a Deployment's spec.
func ValidateDeployment(d *appsv1.Deployment) field.ErrorList {
	sp, p := d.GetSpec(), field.NewPath("spec")
	errs := validateReplicated("deployment", sp.Replicas, sp.GetMinReadySeconds(), sp.GetSelector(), sp.GetTemplate())
	errs = append(errs, validateStrategy(sp.GetStrategy(), p.Child("strategy"))...)
	if sp.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(sp.GetRevisionHistoryLimit()), p.Child("revisionHistoryLimit"))...)
	}
	if sp.ProgressDeadlineSeconds != nil {
		pd := p.Child("progressDeadlineSeconds")
		errs = append(errs, nonNegative(int64(sp.GetProgressDeadlineSeconds()), pd)...)
		if sp.GetProgressDeadlineSeconds() <= sp.GetMinReadySeconds() {
			errs = append(errs, field.Invalid(pd, sp.GetProgressDeadlineSeconds(), "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateStrategy(st *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	switch st.GetType() {
	case "Recreate":
		if st.GetRollingUpdate() != nil {
			return field.ErrorList{field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case "RollingUpdate":
		if st.GetRollingUpdate() == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdate(st.GetRollingUpdate(), p.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(p, st.GetType(), deploymentStrategies)}
	}
	return nil
}

func validateRollingUpdate(ru *appsv1.RollingUpdateDeployment, p *field.Path) field.ErrorList {
	up, sp := p.Child("maxUnavailable"), p.Child("maxSurge")
	errs := intOrPercent(ru.GetMaxUnavailable(), up)
	errs = append(errs, intOrPercent(ru.GetMaxSurge(), sp)...)
	unavailable, surge := scaledValue(ru.GetMaxUnavailable()), scaledValue(ru.GetMaxSurge())
	if unavailable == 0 && surge == 0 {
		errs = append(errs, field.Invalid(up, intOrStringValue(ru.GetMaxUnavailable()), "may not be 0 when `maxSurge` is 0"))
	}
	if ru.GetMaxUnavailable().GetType() == 1 && len(validation.IsValidPercent(ru.GetMaxUnavailable().GetStrVal())) == 0 && unavailable > 100 {
		errs = append(errs, field.Invalid(up, ru.GetMaxUnavailable().GetStrVal(), "must not be greater than 100%"))
	}
	return errs
}

// intOrPercent checks a value that must be a non-negative number or a
// percentage.
func intOrPercent(v *metav1.IntOrString, p *field.Path) field.ErrorList {
	switch v.GetType() {
	case 0:
		return nonNegative(int64(v.GetIntVal()), p)
	case 1:
		return invalid(p, v.GetStrVal(), validation.IsValidPercent(v.GetStrVal()))
	}
	return field.ErrorList{field.Invalid(p, intOrStringValue(v), "must be an integer or percentage (e.g '5%')")}
}

// scaledValue is the number of an int-or-percent, 0 for a bad percentage.
func scaledValue(v *metav1.IntOrString) int {
	if v.GetType() != 1 {
		return int(v.GetIntVal())
	}
	if len(validation.IsValidPercent(v.GetStrVal())) > 0 {
		return 0
	}
	n := 0
	for _, c := range v.GetStrVal()[:len(v.GetStrVal())-1] {
		n = n*10 + int(c-'0')
	}
	return n
}

func intOrStringValue(v *metav1.IntOrString) any {
	if v.GetType() == 1 {
		return v.GetStrVal()
	}
	return v.GetIntVal()
}

// ValidateDeploymentUpdate keeps the selector (immutable in apps/v1).
func ValidateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	return selectorUnchanged(d.GetSpec().GetSelector(), old.GetSpec().GetSelector())
}

// ValidateReplicaSet checks a ReplicaSet's spec. Kubernetes' message for
// an empty selector says "deployment" here too.
func ValidateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	sp := rs.GetSpec()
	return validateReplicated("deployment", sp.Replicas, sp.GetMinReadySeconds(), sp.GetSelector(), sp.GetTemplate())
}

// ValidateReplicaSetUpdate keeps the selector (immutable in apps/v1).
func ValidateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	return selectorUnchanged(rs.GetSpec().GetSelector(), old.GetSpec().GetSelector())
}

func selectorUnchanged(sel, old *metav1.LabelSelector) field.ErrorList {
	if proto.Equal(sel, old) || len(sel.GetMatchLabels())+len(sel.GetMatchExpressions()) == 0 && len(old.GetMatchLabels())+len(old.GetMatchExpressions()) == 0 {
		return nil
	}
	return field.ErrorList{immutable(field.NewPath("spec", "selector"), selectorString(sel))}
}

// ValidateControllerRevision checks a new revision: a non-negative
// revision number and data that is a JSON object.
func ValidateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	errs := nonNegative(cr.GetRevision(), field.NewPath("revision"))
	p := field.NewPath("data")
	raw := cr.GetData().GetRaw()
	if raw == nil {
		return append(errs, field.Required(p, "data is mandatory"))
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return append(errs, field.Invalid(p, "<value omitted>", "error parsing data: "+err.Error()))
	}
	switch v.(type) {
	case nil:
		errs = append(errs, field.Required(p, "data is mandatory"))
	case map[string]any:
	default:
		errs = append(errs, field.Required(p, "data must be a valid JSON object"))
	}
	return errs
}

// ValidateControllerRevisionUpdate checks an update: the data never
// changes.
func ValidateControllerRevisionUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	errs := nonNegative(cr.GetRevision(), field.NewPath("revision"))
	if !bytes.Equal(cr.GetData().GetRaw(), old.GetData().GetRaw()) {
		errs = append(errs, immutable(field.NewPath("data"), "<value omitted>"))
	}
	return errs
}
