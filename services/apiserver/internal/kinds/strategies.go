package kinds

import (
	"strconv"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/namespaces"
	"skiff.dev/services/apiserver/internal/registry"
	validate "skiff.dev/services/apiserver/internal/validation"
)

var podStrategy = registry.Strategy{
	Default:        mutate(defaults.Pod),
	Validate:       check(validate.ValidatePod),
	ValidateCreate: check(validate.ValidatePodCreate),
	ValidateUpdate: checkUpdate(validate.ValidatePodUpdate),
	FieldSet: fields(func(p *corev1.Pod) map[string]string {
		return map[string]string{
			"spec.nodeName":            p.GetSpec().GetNodeName(),
			"spec.restartPolicy":       p.GetSpec().GetRestartPolicy(),
			"spec.schedulerName":       p.GetSpec().GetSchedulerName(),
			"spec.serviceAccountName":  p.GetSpec().GetServiceAccountName(),
			"spec.hostNetwork":         strconv.FormatBool(p.GetSpec().GetHostNetwork()),
			"status.phase":             p.GetStatus().GetPhase(),
			"status.podIP":             p.GetStatus().GetPodIp(),
			"status.nominatedNodeName": p.GetStatus().GetNominatedNodeName(),
		}
	}),
	GracePeriod: podGracePeriod,
	// Old kubelets corrupted ownerReferences through pods/status, so
	// Kubernetes keeps the stored ones.
	PrepareForStatusUpdate: keepMeta(func(m, old *metav1.ObjectMeta) { m.OwnerReferences = old.GetOwnerReferences() }),
}

// podGracePeriod: a pod that never reached a node, or has finished, goes at
// once; others get the requested grace period or their own, so the kubelet
// can stop their containers.
func podGracePeriod(obj proto.Message, requested *int64) (int64, bool) {
	p := obj.(*corev1.Pod)
	if p.GetSpec().GetNodeName() == "" {
		return 0, false
	}
	switch p.GetStatus().GetPhase() {
	case "Succeeded", "Failed":
		return 0, false
	}
	grace := int64(30)
	if p.GetSpec().TerminationGracePeriodSeconds != nil {
		grace = p.GetSpec().GetTerminationGracePeriodSeconds()
	}
	if requested != nil {
		grace = *requested
	}
	if grace < 0 {
		grace = 1
	}
	return grace, true
}

var namespaceStrategy = registry.Strategy{
	Default:           mutate(defaults.Namespace),
	PendingFinalizers: namespaces.PendingFinalizers,
	PrepareForDelete:  namespaces.PrepareForDelete,
	Validate:          check(validate.ValidateNamespace),
	NameValidation:    validation.IsDNS1123Label,
	FieldSet: fields(func(ns *corev1.Namespace) map[string]string {
		return map[string]string{"status.phase": ns.GetStatus().GetPhase()}
	}),
}

var nodeStrategy = registry.Strategy{
	Default:  mutate(defaults.Node),
	Validate: check(validate.ValidateNode),
	FieldSet: fields(func(n *corev1.Node) map[string]string {
		return map[string]string{"spec.unschedulable": strconv.FormatBool(n.GetSpec().GetUnschedulable())}
	}),
}

var serviceStrategy = registry.Strategy{
	Default:        mutate(defaults.Service),
	Validate:       check(validate.ValidateService),
	ValidateUpdate: checkUpdate(validate.ValidateServiceUpdate),
	NameValidation: validation.IsDNS1035Label,
	FieldSet: fields(func(s *corev1.Service) map[string]string {
		return map[string]string{"spec.clusterIP": s.GetSpec().GetClusterIp(), "spec.type": s.GetSpec().GetType()}
	}),
}

var endpointsStrategy = registry.Strategy{
	Default:  mutate(defaults.Endpoints),
	Validate: check(validate.ValidateEndpoints),
}

var configMapStrategy = registry.Strategy{
	Default:        mutate(defaults.ConfigMap),
	Validate:       check(validate.ValidateConfigMap),
	ValidateUpdate: checkUpdate(validate.ValidateConfigMapUpdate),
}

var secretStrategy = registry.Strategy{
	Default:        mutate(defaults.Secret),
	Validate:       check(validate.ValidateSecret),
	ValidateUpdate: checkUpdate(validate.ValidateSecretUpdate),
	FieldSet: fields(func(s *corev1.Secret) map[string]string {
		return map[string]string{"type": s.GetType()}
	}),
}

var serviceAccountStrategy = registry.Strategy{
	Default:  mutate(defaults.ServiceAccount),
	Validate: check(validate.ValidateServiceAccount),
}

var eventStrategy = registry.Strategy{
	Default:  mutate(defaults.Event),
	Validate: check(validate.ValidateEvent),
	FieldSet: fields(func(e *corev1.Event) map[string]string {
		o := e.GetInvolvedObject()
		// As Kubernetes: an event written through events.k8s.io/v1 has
		// no source; its reporting controller stands in.
		source := e.GetSource().GetComponent()
		if source == "" {
			source = e.GetReportingComponent()
		}
		return map[string]string{
			"involvedObject.kind":            o.GetKind(),
			"involvedObject.namespace":       o.GetNamespace(),
			"involvedObject.name":            o.GetName(),
			"involvedObject.uid":             o.GetUid(),
			"involvedObject.apiVersion":      o.GetApiVersion(),
			"involvedObject.resourceVersion": o.GetResourceVersion(),
			"involvedObject.fieldPath":       o.GetFieldPath(),
			"reason":                         e.GetReason(),
			"reportingComponent":             e.GetReportingComponent(),
			"source":                         source,
			"type":                           e.GetType(),
		}
	}),
}

var podTemplateStrategy = registry.Strategy{
	Default:  mutate(defaults.PodTemplate),
	Validate: check(validate.ValidatePodTemplate),
}

var deploymentStrategy = registry.Strategy{
	Default:                mutate(defaults.Deployment),
	PrepareForStatusUpdate: keepMeta(func(m, old *metav1.ObjectMeta) { m.Labels = old.GetLabels() }),
	Validate:               check(validate.ValidateDeployment),
	ValidateUpdate:         checkUpdate(validate.ValidateDeploymentUpdate),
}

var replicaSetStrategy = registry.Strategy{
	Default:        mutate(defaults.ReplicaSet),
	Validate:       check(validate.ValidateReplicaSet),
	ValidateUpdate: checkUpdate(validate.ValidateReplicaSetUpdate),
	FieldSet: fields(func(rs *appsv1.ReplicaSet) map[string]string {
		return map[string]string{"status.replicas": strconv.Itoa(int(rs.GetStatus().GetReplicas()))}
	}),
}

// controllerRevisionStrategy keeps a revision's data as it was written:
// only its metadata may change.
var controllerRevisionStrategy = registry.Strategy{
	Validate:       check(validate.ValidateControllerRevision),
	ValidateUpdate: checkUpdate(validate.ValidateControllerRevisionUpdate),
}

var endpointSliceStrategy = registry.Strategy{
	Default:        mutate(defaults.EndpointSlice),
	Validate:       check(validate.ValidateEndpointSlice),
	ValidateUpdate: checkUpdate(validate.ValidateEndpointSliceUpdate),
}

var runtimeClassStrategy = registry.Strategy{
	Default:        mutate(defaults.RuntimeClass),
	Validate:       check(validate.ValidateRuntimeClass),
	ValidateUpdate: checkUpdate(validate.ValidateRuntimeClassUpdate),
}

// The flowcontrol kinds' status writes keep all of the stored metadata,
// as Kubernetes' status strategies of that group do.
var (
	flowSchemaStrategy = registry.Strategy{
		Default:                mutate(defaults.FlowSchema),
		Validate:               check(validate.ValidateFlowSchema),
		PrepareForStatusUpdate: keepMeta(keepAllMeta),
	}
	priorityLevelStrategy = registry.Strategy{
		Default:                mutate(defaults.PriorityLevelConfiguration),
		Validate:               check(validate.ValidatePriorityLevelConfiguration),
		PrepareForStatusUpdate: keepMeta(keepAllMeta),
	}
)

func keepAllMeta(m, old *metav1.ObjectMeta) {
	proto.Reset(m)
	proto.Merge(m, old)
}

var (
	ipAddressStrategy = registry.Strategy{
		Validate:       check(validate.ValidateIPAddress),
		ValidateUpdate: checkUpdate(validate.ValidateIPAddressUpdate),
		NameValidation: validate.IPAddressName,
	}
	serviceCIDRStrategy = registry.Strategy{
		Validate:               check(validate.ValidateServiceCIDR),
		ValidateUpdate:         checkUpdate(validate.ValidateServiceCIDRUpdate),
		PrepareForStatusUpdate: keepMeta(keepMetaForStatus),
	}
)

// The networking.k8s.io kinds, as Kubernetes' strategies: a
// NetworkPolicy and an Ingress are checked in full on create and again on
// update with the leniencies the stored object earns (so Validate is
// unset); an Ingress's status write checks only the status and keeps the
// metadata it sends; an IngressClass keeps its controller.
var (
	networkPolicyStrategy = registry.Strategy{
		Default:        mutate(defaults.NetworkPolicy),
		ValidateCreate: check(validate.ValidateNetworkPolicy),
		ValidateUpdate: checkUpdate(validate.ValidateNetworkPolicyUpdate),
		Warnings:       networkPolicyWarnings,
	}
	ingressStrategy = registry.Strategy{
		ValidateCreate:       check(validate.ValidateIngressCreate),
		ValidateUpdate:       checkUpdate(validate.ValidateIngressUpdate),
		ValidateStatusUpdate: checkUpdate(validate.ValidateIngressStatusUpdate),
		Warnings:             ingressWarnings,
	}
	ingressClassStrategy = registry.Strategy{
		Default:        mutate(defaults.IngressClass),
		Validate:       check(validate.ValidateIngressClass),
		ValidateUpdate: checkUpdate(validate.ValidateIngressClassUpdate),
	}
)

// keepMetaForStatus keeps what a status write may not change, as
// Kubernetes' ResetObjectMetaForStatus does: labels, annotations,
// finalizers, owners, generation and the deletion timestamp.
func keepMetaForStatus(m, old *metav1.ObjectMeta) {
	m.Labels, m.Annotations = old.GetLabels(), old.GetAnnotations()
	m.Finalizers, m.OwnerReferences = old.GetFinalizers(), old.GetOwnerReferences()
	m.Generation, m.DeletionTimestamp = old.GetGeneration(), old.GetDeletionTimestamp()
}

var leaseStrategy = registry.Strategy{
	Default:  mutate(defaults.Lease),
	Validate: check(validate.ValidateLease),
}
