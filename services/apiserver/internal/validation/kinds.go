package validation

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1 "skiff.dev/api/apps/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	taintEffects       = []string{"NoExecute", "NoSchedule", "PreferNoSchedule"}
	serviceTypes       = []string{"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}
	sessionAffinities  = []string{"ClientIP", "None"}
	deploymentStrategy = []string{"Recreate", "RollingUpdate"}
)

// maxDataBytes bounds a ConfigMap's or Secret's data (etcd's value limit
// leaves room for metadata).
const maxDataBytes = 1 << 20

// ValidateNamespace checks a namespace's finalizers.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	for i, f := range ns.GetSpec().GetFinalizers() {
		errs = append(errs, invalid(field.NewPath("spec", "finalizers").Index(i), f, validation.IsQualifiedName(f))...)
	}
	return errs
}

// ValidateNode checks a node's taints.
func ValidateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, t := range n.GetSpec().GetTaints() {
		p := field.NewPath("spec", "taints").Index(i)
		if t.GetKey() == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		} else {
			errs = append(errs, invalid(p.Child("key"), t.GetKey(), validation.IsQualifiedName(t.GetKey()))...)
		}
		if !slices.Contains(taintEffects, t.GetEffect()) {
			errs = append(errs, field.NotSupported(p.Child("effect"), t.GetEffect(), taintEffects))
		}
		if key := t.GetKey() + "/" + t.GetEffect(); seen[key] {
			errs = append(errs, field.Duplicate(p, fmt.Sprintf("%s:%s", t.GetKey(), t.GetEffect())))
		} else {
			seen[key] = true
		}
	}
	return errs
}

// ValidateService checks a service's type, ports and selector.
func ValidateService(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	sp, p := s.GetSpec(), field.NewPath("spec")
	if !slices.Contains(serviceTypes, sp.GetType()) {
		errs = append(errs, field.NotSupported(p.Child("type"), sp.GetType(), serviceTypes))
	}
	if sp.GetType() == "ExternalName" {
		if sp.GetExternalName() == "" {
			errs = append(errs, field.Required(p.Child("externalName"), ""))
		}
	} else if len(sp.GetPorts()) == 0 && sp.GetClusterIp() != "None" {
		errs = append(errs, field.Required(p.Child("ports"), ""))
	}
	names := map[string]bool{}
	for i, port := range sp.GetPorts() {
		pp := p.Child("ports").Index(i)
		if len(sp.GetPorts()) > 1 && port.GetName() == "" {
			errs = append(errs, field.Required(pp.Child("name"), ""))
		}
		if port.GetName() != "" {
			errs = append(errs, invalid(pp.Child("name"), port.GetName(), validation.IsDNS1123Label(port.GetName()))...)
			if names[port.GetName()] {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.GetName()))
			}
			names[port.GetName()] = true
		}
		errs = append(errs, invalid(pp.Child("port"), port.GetPort(), validation.IsValidPortNum(int(port.GetPort())))...)
		if !slices.Contains(protocols, port.GetProtocol()) {
			errs = append(errs, field.NotSupported(pp.Child("protocol"), port.GetProtocol(), protocols))
		}
		if port.GetNodePort() != 0 {
			if sp.GetType() != "NodePort" && sp.GetType() != "LoadBalancer" {
				errs = append(errs, field.Forbidden(pp.Child("nodePort"), "may not be used when `type` is '"+sp.GetType()+"'"))
			}
			errs = append(errs, invalid(pp.Child("nodePort"), port.GetNodePort(), validation.IsValidPortNum(int(port.GetNodePort())))...)
		}
		if tp := port.GetTargetPort(); tp != nil {
			if tp.GetType() == 1 {
				errs = append(errs, invalid(pp.Child("targetPort"), tp.GetStrVal(), validation.IsValidPortName(tp.GetStrVal()))...)
			} else {
				errs = append(errs, invalid(pp.Child("targetPort"), tp.GetIntVal(), validation.IsValidPortNum(int(tp.GetIntVal())))...)
			}
		}
	}
	for k, v := range sp.GetSelector() {
		errs = append(errs, invalid(p.Child("selector"), k, validation.IsQualifiedName(k))...)
		errs = append(errs, invalid(p.Child("selector").Key(k), v, validation.IsValidLabelValue(v))...)
	}
	if !slices.Contains(sessionAffinities, sp.GetSessionAffinity()) {
		errs = append(errs, field.NotSupported(p.Child("sessionAffinity"), sp.GetSessionAffinity(), sessionAffinities))
	}
	if ip := sp.GetClusterIp(); ip != "" && ip != "None" && net.ParseIP(ip) == nil {
		errs = append(errs, field.Invalid(p.Child("clusterIP"), ip, "must be empty, 'None', or a valid IP address"))
	}
	for i, ip := range sp.GetExternalIps() {
		if net.ParseIP(ip) == nil {
			errs = append(errs, field.Invalid(p.Child("externalIPs").Index(i), ip, "must be a valid IP address"))
		}
	}
	return errs
}

// ValidateServiceUpdate keeps the cluster IP once assigned.
func ValidateServiceUpdate(s, old *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "clusterIP")
	if oldIP := old.GetSpec().GetClusterIp(); oldIP != "" && s.GetSpec().GetClusterIp() != oldIP && s.GetSpec().GetType() != "ExternalName" {
		errs = append(errs, field.Invalid(p, s.GetSpec().GetClusterIp(), "field is immutable"))
	}
	return errs
}

// ValidateEndpoints checks addresses and ports.
func ValidateEndpoints(e *corev1.Endpoints) field.ErrorList {
	var errs field.ErrorList
	for i, s := range e.GetSubsets() {
		p := field.NewPath("subsets").Index(i)
		for kind, list := range map[string][]*corev1.EndpointAddress{"addresses": s.GetAddresses(), "notReadyAddresses": s.GetNotReadyAddresses()} {
			for j, a := range list {
				if net.ParseIP(a.GetIp()) == nil {
					errs = append(errs, field.Invalid(p.Child(kind).Index(j).Child("ip"), a.GetIp(), "must be a valid IP address"))
				}
			}
		}
		names := map[string]bool{}
		for j, port := range s.GetPorts() {
			pp := p.Child("ports").Index(j)
			if names[port.GetName()] {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.GetName()))
			}
			names[port.GetName()] = true
			errs = append(errs, invalid(pp.Child("port"), port.GetPort(), validation.IsValidPortNum(int(port.GetPort())))...)
			if !slices.Contains(protocols, port.GetProtocol()) {
				errs = append(errs, field.NotSupported(pp.Child("protocol"), port.GetProtocol(), protocols))
			}
		}
	}
	return errs
}

func validateData(strs map[string]string, bins map[string][]byte) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for k, v := range strs {
		errs = append(errs, invalid(field.NewPath("data").Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(v)
	}
	for k, v := range bins {
		errs = append(errs, invalid(field.NewPath("binaryData").Key(k), k, validation.IsConfigMapKey(k))...)
		if _, dup := strs[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("binaryData"), k, "duplicate of key present in data"))
		}
		total += len(v)
	}
	if total > maxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath(""), maxDataBytes))
	}
	return errs
}

// ValidateConfigMap checks keys and size.
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	return validateData(cm.GetData(), cm.GetBinaryData())
}

func immutableData(wasImmutable, isImmutable *bool, same bool) field.ErrorList {
	var errs field.ErrorList
	if wasImmutable != nil && *wasImmutable {
		if isImmutable == nil || !*isImmutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !same {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return errs
}

// ValidateConfigMapUpdate refuses data changes to an immutable ConfigMap.
func ValidateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	same := proto.Equal(&corev1.ConfigMap{Data: cm.GetData(), BinaryData: cm.GetBinaryData()},
		&corev1.ConfigMap{Data: old.GetData(), BinaryData: old.GetBinaryData()})
	return immutableData(old.Immutable, cm.Immutable, same)
}

// ValidateSecret checks keys, size and the fields its type requires.
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for k, v := range s.GetData() {
		errs = append(errs, invalid(field.NewPath("data").Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(v)
	}
	if total > maxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath("data"), maxDataBytes))
	}
	switch s.GetType() {
	case "kubernetes.io/tls":
		for _, k := range []string{"tls.crt", "tls.key"} {
			if _, ok := s.GetData()[k]; !ok {
				errs = append(errs, field.Required(field.NewPath("data").Key(k), ""))
			}
		}
	case "kubernetes.io/dockerconfigjson":
		if _, ok := s.GetData()[".dockerconfigjson"]; !ok {
			errs = append(errs, field.Required(field.NewPath("data").Key(".dockerconfigjson"), ""))
		}
	}
	return errs
}

// ValidateSecretUpdate keeps the type and immutable data.
func ValidateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	if s.GetType() != old.GetType() {
		errs = append(errs, field.Invalid(field.NewPath("type"), s.GetType(), "field is immutable"))
	}
	same := proto.Equal(&corev1.Secret{Data: s.GetData()}, &corev1.Secret{Data: old.GetData()})
	return append(errs, immutableData(old.Immutable, s.Immutable, same)...)
}

// ValidateServiceAccount has nothing beyond metadata to check.
func ValidateServiceAccount(*corev1.ServiceAccount) field.ErrorList { return nil }

// ValidateEvent checks that the event's namespace matches its object's.
func ValidateEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	if ns := e.GetInvolvedObject().GetNamespace(); ns != "" && ns != e.GetMetadata().GetNamespace() {
		errs = append(errs, field.Invalid(field.NewPath("involvedObject", "namespace"), ns, "does not match event.namespace"))
	}
	if len(e.GetReason()) > 128 {
		errs = append(errs, field.TooLong(field.NewPath("reason"), 128))
	}
	return errs
}

// ValidateLease checks durations and counters.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if l.GetSpec().LeaseDurationSeconds != nil && l.GetSpec().GetLeaseDurationSeconds() <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), l.GetSpec().GetLeaseDurationSeconds(), "must be greater than 0"))
	}
	if l.GetSpec().LeaseTransitions != nil && l.GetSpec().GetLeaseTransitions() < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), l.GetSpec().GetLeaseTransitions(), "must be greater than or equal to 0"))
	}
	return errs
}

// validateSelectorAndTemplate checks what Deployments and ReplicaSets
// share: a non-empty selector that selects the template's labels, a pod
// template that restarts Always, non-negative replicas.
func validateSelectorAndTemplate(kind string, replicas *int32, sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if replicas != nil && *replicas < 0 {
		errs = append(errs, field.Invalid(p.Child("replicas"), *replicas, "must be greater than or equal to 0"))
	}
	if sel == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else if len(sel.GetMatchLabels()) == 0 && len(sel.GetMatchExpressions()) == 0 {
		errs = append(errs, field.Invalid(p.Child("selector"), "", "empty selector is invalid for "+kind))
	} else {
		errs = append(errs, validateLabelSelector(sel, p.Child("selector"))...)
		if !selects(sel, tmpl.GetMetadata().GetLabels()) {
			errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), labelString(tmpl.GetMetadata().GetLabels()),
				"`selector` does not match template `labels`"))
		}
	}
	tp := p.Child("template")
	if tmpl == nil {
		return append(errs, field.Required(tp, ""))
	}
	errs = append(errs, ValidatePodSpec(tmpl.GetSpec(), tp.Child("spec"))...)
	if rp := tmpl.GetSpec().GetRestartPolicy(); rp != "Always" {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"Always"}))
	}
	return errs
}

func validateLabelSelector(sel *metav1.LabelSelector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for k, v := range sel.GetMatchLabels() {
		errs = append(errs, invalid(p.Child("matchLabels"), k, validation.IsQualifiedName(k))...)
		errs = append(errs, invalid(p.Child("matchLabels").Key(k), v, validation.IsValidLabelValue(v))...)
	}
	ops := []string{"In", "NotIn", "Exists", "DoesNotExist"}
	for i, r := range sel.GetMatchExpressions() {
		rp := p.Child("matchExpressions").Index(i)
		switch r.GetOperator() {
		case "In", "NotIn":
			if len(r.GetValues()) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case "Exists", "DoesNotExist":
			if len(r.GetValues()) > 0 {
				errs = append(errs, field.Forbidden(rp.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		default:
			errs = append(errs, field.NotSupported(rp.Child("operator"), r.GetOperator(), ops))
		}
		errs = append(errs, invalid(rp.Child("key"), r.GetKey(), validation.IsQualifiedName(r.GetKey()))...)
	}
	return errs
}

// selects reports whether the selector matches labels.
func selects(sel *metav1.LabelSelector, labels map[string]string) bool {
	for k, v := range sel.GetMatchLabels() {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range sel.GetMatchExpressions() {
		v, ok := labels[r.GetKey()]
		switch r.GetOperator() {
		case "In":
			if !ok || !slices.Contains(r.GetValues(), v) {
				return false
			}
		case "NotIn":
			if ok && slices.Contains(r.GetValues(), v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		}
	}
	return true
}

func labelString(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for k, v := range labels {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// ValidateDeployment checks a Deployment.
func ValidateDeployment(d *appsv1.Deployment) field.ErrorList {
	sp := d.GetSpec()
	errs := validateSelectorAndTemplate("deployment", sp.Replicas, sp.GetSelector(), sp.GetTemplate())
	p := field.NewPath("spec")
	st := sp.GetStrategy()
	if !slices.Contains(deploymentStrategy, st.GetType()) {
		errs = append(errs, field.NotSupported(p.Child("strategy", "type"), st.GetType(), deploymentStrategy))
	}
	if st.GetType() == "Recreate" && st.GetRollingUpdate() != nil {
		errs = append(errs, field.Forbidden(p.Child("strategy", "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
	}
	if ru := st.GetRollingUpdate(); ru != nil {
		rp := p.Child("strategy", "rollingUpdate")
		surge, serrs := intOrPercent(ru.GetMaxSurge(), rp.Child("maxSurge"))
		unavailable, uerrs := intOrPercent(ru.GetMaxUnavailable(), rp.Child("maxUnavailable"))
		errs = append(append(errs, serrs...), uerrs...)
		if len(serrs) == 0 && len(uerrs) == 0 && surge == 0 && unavailable == 0 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.GetMaxUnavailable().GetIntVal(), "may not be 0 when `maxSurge` is 0"))
		}
		if ru.GetMaxUnavailable().GetType() == 1 && unavailable > 100 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.GetMaxUnavailable().GetStrVal(), "must not be greater than 100%"))
		}
	}
	if sp.RevisionHistoryLimit != nil && sp.GetRevisionHistoryLimit() < 0 {
		errs = append(errs, field.Invalid(p.Child("revisionHistoryLimit"), sp.GetRevisionHistoryLimit(), "must be greater than or equal to 0"))
	}
	if sp.GetMinReadySeconds() < 0 {
		errs = append(errs, field.Invalid(p.Child("minReadySeconds"), sp.GetMinReadySeconds(), "must be greater than or equal to 0"))
	}
	if sp.ProgressDeadlineSeconds != nil && sp.GetProgressDeadlineSeconds() <= sp.GetMinReadySeconds() {
		errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), sp.GetProgressDeadlineSeconds(), "must be greater than minReadySeconds"))
	}
	return errs
}

// intOrPercent reads an int-or-string that must be a non-negative number
// or a percentage.
func intOrPercent(v *metav1.IntOrString, p *field.Path) (int, field.ErrorList) {
	if v == nil {
		return 0, nil
	}
	if v.GetType() == 1 {
		var n int
		if _, err := fmt.Sscanf(v.GetStrVal(), "%d%%", &n); err != nil || !strings.HasSuffix(v.GetStrVal(), "%") || n < 0 {
			return 0, field.ErrorList{field.Invalid(p, v.GetStrVal(), "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")}
		}
		return n, nil
	}
	if v.GetIntVal() < 0 {
		return 0, field.ErrorList{field.Invalid(p, v.GetIntVal(), "must be greater than or equal to 0")}
	}
	return int(v.GetIntVal()), nil
}

// ValidateDeploymentUpdate keeps the selector.
func ValidateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	if !proto.Equal(d.GetSpec().GetSelector(), old.GetSpec().GetSelector()) {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), labelSelectorString(d.GetSpec().GetSelector()), "field is immutable")}
	}
	return nil
}

// ValidateReplicaSet checks a ReplicaSet.
func ValidateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	sp := rs.GetSpec()
	errs := validateSelectorAndTemplate("replicaset", sp.Replicas, sp.GetSelector(), sp.GetTemplate())
	if sp.GetMinReadySeconds() < 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "minReadySeconds"), sp.GetMinReadySeconds(), "must be greater than or equal to 0"))
	}
	return errs
}

// ValidateReplicaSetUpdate keeps the selector.
func ValidateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	if !proto.Equal(rs.GetSpec().GetSelector(), old.GetSpec().GetSelector()) {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), labelSelectorString(rs.GetSpec().GetSelector()), "field is immutable")}
	}
	return nil
}

func labelSelectorString(sel *metav1.LabelSelector) string {
	return labelString(sel.GetMatchLabels())
}
