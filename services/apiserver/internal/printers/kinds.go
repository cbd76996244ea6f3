package printers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/duration"

	admissionregistrationv1 "skiff.dev/api/admissionregistration/v1"
	appsv1 "skiff.dev/api/apps/v1"
	certificatesv1 "skiff.dev/api/certificates/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	discoveryv1 "skiff.dev/api/discovery/v1"
	eventsv1 "skiff.dev/api/events/v1"
	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	nodev1 "skiff.dev/api/node/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/services/apiserver/internal/convert"
)

func col(name, typ, desc string) *metav1.TableColumnDefinition {
	return &metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc}
}

func wide(c *metav1.TableColumnDefinition) *metav1.TableColumnDefinition {
	c.Priority = 1
	return c
}

func ageCol() *metav1.TableColumnDefinition {
	return col("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.")
}

// typed adapts a typed cell function to the Printer signature.
func typed[T proto.Message](f func(T, time.Time) []any) func(proto.Message, time.Time) []any {
	return func(obj proto.Message, now time.Time) []any { return f(obj.(T), now) }
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func init() {
	register("apiextensions.k8s.io", "CustomResourceDefinition", createdAtPrinter)
	register("", "Pod", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
			col("Status", "string", "The aggregate status of the containers in this pod."),
			col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
			ageCol(),
			wide(col("IP", "string", "IP address allocated to the pod. Routable at least within the cluster.")),
			wide(col("Node", "string", "Name of the node where the pod is scheduled.")),
			wide(col("Nominated Node", "string", "Name of the node the scheduler nominated for the pod.")),
			wide(col("Readiness Gates", "string", "Pod readiness gates met over the gates declared.")),
		},
		Cells: typed(podCells),
	})
	register("", "Namespace", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Status", "string", "The status of the namespace"), ageCol()},
		Cells: typed(func(ns *corev1.Namespace, now time.Time) []any {
			return []any{ns.GetMetadata().GetName(), ns.GetStatus().GetPhase(), Age(ns.GetMetadata(), now)}
		}),
	})
	register("", "Node", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Status", "string", "The status of the node"), col("Roles", "string", "The roles of the node"), ageCol(),
			col("Version", "string", "Kubelet Version reported by the node."),
			wide(col("Internal-IP", "string", "List of internal IPs.")), wide(col("External-IP", "string", "List of external IPs.")),
			wide(col("OS-Image", "string", "OS Image reported by the node.")), wide(col("Kernel-Version", "string", "Kernel Version reported by the node.")),
			wide(col("Container-Runtime", "string", "Container Runtime Version reported by the node.")),
		},
		Cells: typed(nodeCells),
	})
	register("", "Service", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Type", "string", "The type of the service."), col("Cluster-IP", "string", "The cluster IP of the service."),
			col("External-IP", "string", "The external IP of the service."), col("Port(s)", "string", "The ports of the service."),
			ageCol(), wide(col("Selector", "string", "The selector of the service.")),
		},
		Cells: typed(serviceCells),
	})
	register("", "Endpoints", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Endpoints", "string", "Endpoints of the service."), ageCol()},
		Cells: typed(func(e *corev1.Endpoints, now time.Time) []any {
			return []any{e.GetMetadata().GetName(), formatEndpoints(e), Age(e.GetMetadata(), now)}
		}),
	})
	register("", "ConfigMap", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Data", "integer", "Number of entries."), ageCol()},
		Cells: typed(func(cm *corev1.ConfigMap, now time.Time) []any {
			return []any{cm.GetMetadata().GetName(), int64(len(cm.GetData()) + len(cm.GetBinaryData())), Age(cm.GetMetadata(), now)}
		}),
	})
	register("", "Secret", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Type", "string", "The type of the secret."),
			col("Data", "integer", "The number of entries in the secret."), ageCol()},
		Cells: typed(func(s *corev1.Secret, now time.Time) []any {
			return []any{s.GetMetadata().GetName(), s.GetType(), int64(len(s.GetData())), Age(s.GetMetadata(), now)}
		}),
	})
	register("", "ServiceAccount", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Secrets", "string", "Secrets is a list of the secrets used."), ageCol()},
		Cells: typed(func(sa *corev1.ServiceAccount, now time.Time) []any {
			return []any{sa.GetMetadata().GetName(), strconv.Itoa(len(sa.GetSecrets())), Age(sa.GetMetadata(), now)}
		}),
	})
	register("", "Event", eventPrinter)
	// events.k8s.io/v1 prints its Events as core/v1 does, as Kubernetes'
	// one printer of the internal Event does.
	register("events.k8s.io", "Event", &Printer{
		Columns: eventPrinter.Columns,
		Cells: typed(func(e *eventsv1.Event, now time.Time) []any {
			return eventCells(convert.EventToCore(e), now)
		}),
	})
	// No age column: Kubernetes prints none for pod templates.
	register("", "PodTemplate", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Containers", "string", "Names of each container in the template."),
			col("Images", "string", "Images referenced by each container in the template."),
			col("Pod Labels", "string", "The labels for the pod template."),
		},
		Cells: typed(func(pt *corev1.PodTemplate, _ time.Time) []any {
			names, images := containers(pt.GetTemplate())
			return []any{pt.GetMetadata().GetName(), names, images, orNone(formatLabels(pt.GetTemplate().GetMetadata().GetLabels()))}
		}),
	})
	register("apps", "Deployment", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Ready", "string", "Number of the pod with ready state"),
			col("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
			col("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
			ageCol(),
			wide(col("Containers", "string", "Names of each container in the template.")),
			wide(col("Images", "string", "Images referenced by each container in the template.")),
			wide(col("Selector", "string", "Label selector for pods.")),
		},
		Cells: typed(func(d *appsv1.Deployment, now time.Time) []any {
			st := d.GetStatus()
			names, images := containers(d.GetSpec().GetTemplate())
			return []any{d.GetMetadata().GetName(), fmt.Sprintf("%d/%d", st.GetReadyReplicas(), d.GetSpec().GetReplicas()),
				int64(st.GetUpdatedReplicas()), int64(st.GetAvailableReplicas()), Age(d.GetMetadata(), now),
				names, images, FormatLabelSelector(d.GetSpec().GetSelector())}
		}),
	})
	register("apps", "ReplicaSet", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Desired", "integer", "Number of desired pods."), col("Current", "integer", "Number of actual pods."),
			col("Ready", "integer", "Number of ready pods."), ageCol(),
			wide(col("Containers", "string", "Names of each container in the template.")),
			wide(col("Images", "string", "Images referenced by each container in the template.")),
			wide(col("Selector", "string", "Label selector for pods.")),
		},
		Cells: typed(func(rs *appsv1.ReplicaSet, now time.Time) []any {
			names, images := containers(rs.GetSpec().GetTemplate())
			return []any{rs.GetMetadata().GetName(), int64(rs.GetSpec().GetReplicas()), int64(rs.GetStatus().GetReplicas()),
				int64(rs.GetStatus().GetReadyReplicas()), Age(rs.GetMetadata(), now), names, images,
				FormatLabelSelector(rs.GetSpec().GetSelector())}
		}),
	})
	register("apps", "ControllerRevision", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Controller", "string", "Controller of the object"),
			col("Revision", "string", "Revision indicates the revision of the state represented by Data."), ageCol(),
		},
		Cells: typed(func(cr *appsv1.ControllerRevision, now time.Time) []any {
			return []any{cr.GetMetadata().GetName(), revisionController(cr.GetMetadata()), cr.GetRevision(), Age(cr.GetMetadata(), now)}
		}),
	})
	register("discovery.k8s.io", "EndpointSlice", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("AddressType", "string", "The type of address carried by the slice."),
			col("Ports", "string", "The ports the endpoints serve."), col("Endpoints", "string", "The endpoints' addresses."), ageCol()},
		Cells: typed(func(s *discoveryv1.EndpointSlice, now time.Time) []any {
			return []any{s.GetMetadata().GetName(), s.GetAddressType(), formatSlicePorts(s), formatSliceEndpoints(s), Age(s.GetMetadata(), now)}
		}),
	})
	// Kubernetes describes the handler column with ObjectMeta's doc of
	// a "handler" field, which has none.
	register("node.k8s.io", "RuntimeClass", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Handler", "string", ""), ageCol()},
		Cells: typed(func(rc *nodev1.RuntimeClass, now time.Time) []any {
			return []any{rc.GetMetadata().GetName(), rc.GetHandler(), Age(rc.GetMetadata(), now)}
		}),
	})
	register("flowcontrol.apiserver.k8s.io", "FlowSchema", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("PriorityLevel", "string", "`name` is the name of the priority level configuration being referenced Required."),
			col("MatchingPrecedence", "string", "`matchingPrecedence` is used to choose among the FlowSchemas that match a given request. The chosen FlowSchema is among those with the numerically lowest (which we take to be logically highest) MatchingPrecedence.  Each MatchingPrecedence value must be ranged in [1,10000]. Note that if the precedence is not specified, it will be set to 1000 as default."),
			col("DistinguisherMethod", "string", "`distinguisherMethod` defines how to compute the flow distinguisher for requests that match this schema. `nil` specifies that the distinguisher is disabled and thus will always be the empty string."),
			ageCol(),
			col("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration"),
		},
		Cells: typed(flowSchemaCells),
		// Kubernetes lists schemas in the order they match requests.
		Order: typedOrder(func(a, b *flowcontrolv1.FlowSchema) int {
			if d := a.GetSpec().GetMatchingPrecedence() - b.GetSpec().GetMatchingPrecedence(); d != 0 {
				return int(d)
			}
			return strings.Compare(a.GetMetadata().GetName(), b.GetMetadata().GetName())
		}),
	})
	register("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Type", "string", "`type` indicates whether this priority level is subject to limitation on request execution."),
			col("NominalConcurrencyShares", "string", "`nominalConcurrencyShares` (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level."),
			col("Queues", "string", "`queues` is the number of queues for this priority level."),
			col("HandSize", "string", "`handSize` is a small positive number that configures the shuffle sharding of requests into queues."),
			col("QueueLengthLimit", "string", "`queueLengthLimit` is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time."),
			ageCol(),
		},
		Cells: typed(priorityLevelCells),
	})
	register("networking.k8s.io", "ServiceCIDR", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("CIDRs", "string", "The ranges, in CIDR notation, that Services' cluster IPs are allocated from: one per IP family."),
			ageCol()},
		Cells: typed(func(sc *networkingv1.ServiceCIDR, now time.Time) []any {
			return []any{sc.GetMetadata().GetName(), strings.Join(sc.GetSpec().GetCidrs(), ","), Age(sc.GetMetadata(), now)}
		}),
	})
	register("networking.k8s.io", "IPAddress", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("ParentRef", "string", "The object the address is allocated to.")},
		Cells: typed(func(ip *networkingv1.IPAddress, now time.Time) []any {
			return []any{ip.GetMetadata().GetName(), formatParentRef(ip.GetSpec().GetParentRef())}
		}),
	})
	register("rbac.authorization.k8s.io", "Role", createdAtPrinter)
	register("rbac.authorization.k8s.io", "ClusterRole", createdAtPrinter)
	register("rbac.authorization.k8s.io", "RoleBinding", bindingPrinter("roleBinding",
		"RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
		typed(func(rb *rbacv1.RoleBinding, now time.Time) []any {
			return bindingCells(rb.GetMetadata(), rb.GetRoleRef(), rb.GetSubjects(), now)
		})))
	register("rbac.authorization.k8s.io", "ClusterRoleBinding", bindingPrinter("clusterRoleBinding",
		"RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.",
		typed(func(crb *rbacv1.ClusterRoleBinding, now time.Time) []any {
			return bindingCells(crb.GetMetadata(), crb.GetRoleRef(), crb.GetSubjects(), now)
		})))
	register("certificates.k8s.io", "CertificateSigningRequest", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), ageCol(),
			col("SignerName", "string", "The signer the request asks for a certificate."),
			col("Requestor", "string", "The user who created the request."),
			col("RequestedDuration", "string", "The lifetime the request asks for, if any."),
			col("Condition", "string", "Approved, Denied or Pending, then Failed and Issued when they apply."),
		},
		Cells: typed(csrCells),
	})
	webhooks := []*metav1.TableColumnDefinition{nameColumn(),
		col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"), ageCol()}
	register("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", &Printer{
		Columns: webhooks,
		Cells: typed(func(c *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) []any {
			return []any{c.GetMetadata().GetName(), int64(len(c.GetWebhooks())), Age(c.GetMetadata(), now)}
		}),
	})
	register("admissionregistration.k8s.io", "MutatingWebhookConfiguration", &Printer{
		Columns: webhooks,
		Cells: typed(func(c *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) []any {
			return []any{c.GetMetadata().GetName(), int64(len(c.GetWebhooks())), Age(c.GetMetadata(), now)}
		}),
	})
	register("coordination.k8s.io", "Lease", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(), col("Holder", "string", "The holder of the lease."), ageCol()},
		Cells: typed(func(l *coordinationv1.Lease, now time.Time) []any {
			return []any{l.GetMetadata().GetName(), l.GetSpec().GetHolderIdentity(), Age(l.GetMetadata(), now)}
		}),
	})
}

// podCells follows kubectl's pod printing: the status is the most telling
// of the pod's reason, its init containers' and its containers' states.
func podCells(p *corev1.Pod, now time.Time) []any {
	st := p.GetStatus()
	reason := st.GetPhase()
	if st.GetReason() != "" {
		reason = st.GetReason()
	}
	restarts, lastRestart := 0, time.Time{}
	noteRestart := func(cs *corev1.ContainerStatus) {
		restarts += int(cs.GetRestartCount())
		if t := cs.GetLastState().GetTerminated().GetFinishedAt(); t != nil && t.AsTime().After(lastRestart) {
			lastRestart = t.AsTime()
		}
	}
	initializing := false
	inits := p.GetSpec().GetInitContainers()
	for i, cs := range st.GetInitContainerStatuses() {
		noteRestart(cs)
		switch {
		case cs.GetState().GetTerminated() != nil && cs.GetState().GetTerminated().GetExitCode() == 0:
			continue
		case cs.GetState().GetTerminated() != nil:
			t := cs.GetState().GetTerminated()
			if t.GetReason() != "" {
				reason = "Init:" + t.GetReason()
			} else if t.GetSignal() != 0 {
				reason = fmt.Sprintf("Init:Signal:%d", t.GetSignal())
			} else {
				reason = fmt.Sprintf("Init:ExitCode:%d", t.GetExitCode())
			}
		case cs.GetState().GetWaiting() != nil && cs.GetState().GetWaiting().GetReason() != "" && cs.GetState().GetWaiting().GetReason() != "PodInitializing":
			reason = "Init:" + cs.GetState().GetWaiting().GetReason()
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(inits))
		}
		initializing = true
		break
	}
	ready := 0
	if !initializing {
		restarts, lastRestart = 0, time.Time{}
		running := false
		statuses := st.GetContainerStatuses()
		for i := len(statuses) - 1; i >= 0; i-- {
			cs := statuses[i]
			noteRestart(cs)
			state := cs.GetState()
			switch {
			case state.GetWaiting() != nil && state.GetWaiting().GetReason() != "":
				reason = state.GetWaiting().GetReason()
			case state.GetTerminated() != nil && state.GetTerminated().GetReason() != "":
				reason = state.GetTerminated().GetReason()
			case state.GetTerminated() != nil && state.GetTerminated().GetSignal() != 0:
				reason = fmt.Sprintf("Signal:%d", state.GetTerminated().GetSignal())
			case state.GetTerminated() != nil:
				reason = fmt.Sprintf("ExitCode:%d", state.GetTerminated().GetExitCode())
			case cs.GetReady() && state.GetRunning() != nil:
				running = true
				ready++
			}
		}
		if reason == "Completed" && running {
			reason = "NotReady"
			if podReady(p) {
				reason = "Running"
			}
		}
	}
	if p.GetMetadata().GetDeletionTimestamp() != nil {
		reason = "Terminating"
		if st.GetReason() == "NodeLost" {
			reason = "Unknown"
		}
	}
	restartText := strconv.Itoa(restarts)
	if !lastRestart.IsZero() {
		restartText = fmt.Sprintf("%d (%s ago)", restarts, duration.HumanDuration(now.Sub(lastRestart)))
	}
	gates := "<none>"
	if n := len(p.GetSpec().GetReadinessGates()); n > 0 {
		met := 0
		for _, g := range p.GetSpec().GetReadinessGates() {
			for _, c := range st.GetConditions() {
				if c.GetType() == g.GetConditionType() && c.GetStatus() == "True" {
					met++
				}
			}
		}
		gates = fmt.Sprintf("%d/%d", met, n)
	}
	return []any{p.GetMetadata().GetName(), fmt.Sprintf("%d/%d", ready, len(p.GetSpec().GetContainers())), reason, restartText,
		Age(p.GetMetadata(), now), orNone(st.GetPodIp()), orNone(p.GetSpec().GetNodeName()), orNone(st.GetNominatedNodeName()), gates}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func nodeCells(n *corev1.Node, now time.Time) []any {
	status := "Unknown"
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			switch c.GetStatus() {
			case "True":
				status = "Ready"
			case "False":
				status = "NotReady"
			}
		}
	}
	if n.GetSpec().GetUnschedulable() {
		status += ",SchedulingDisabled"
	}
	var roles []string
	for k := range n.GetMetadata().GetLabels() {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	internal, external := "<none>", "<none>"
	for _, a := range n.GetStatus().GetAddresses() {
		switch {
		case a.GetType() == "InternalIP" && internal == "<none>":
			internal = a.GetAddress()
		case a.GetType() == "ExternalIP" && external == "<none>":
			external = a.GetAddress()
		}
	}
	info := n.GetStatus().GetNodeInfo()
	return []any{n.GetMetadata().GetName(), status, orNone(strings.Join(roles, ",")), Age(n.GetMetadata(), now),
		info.GetKubeletVersion(), internal, external, orNone(info.GetOsImage()), orNone(info.GetKernelVersion()),
		orNone(info.GetContainerRuntimeVersion())}
}

func serviceCells(s *corev1.Service, now time.Time) []any {
	sp := s.GetSpec()
	clusterIP := sp.GetClusterIp()
	if clusterIP == "" {
		clusterIP = "<none>"
	}
	external := "<none>"
	var ingress []string
	for _, in := range s.GetStatus().GetLoadBalancer().GetIngress() {
		if in.GetIp() != "" {
			ingress = append(ingress, in.GetIp())
		} else if in.GetHostname() != "" {
			ingress = append(ingress, in.GetHostname())
		}
	}
	switch sp.GetType() {
	case "ExternalName":
		external = sp.GetExternalName()
	case "LoadBalancer":
		all := append(ingress, sp.GetExternalIps()...)
		if len(all) == 0 {
			external = "<pending>"
		} else {
			external = strings.Join(all, ",")
		}
	default:
		if len(sp.GetExternalIps()) > 0 {
			external = strings.Join(sp.GetExternalIps(), ",")
		}
	}
	var ports []string
	for _, p := range sp.GetPorts() {
		if p.GetNodePort() != 0 {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.GetPort(), p.GetNodePort(), p.GetProtocol()))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.GetPort(), p.GetProtocol()))
		}
	}
	return []any{s.GetMetadata().GetName(), sp.GetType(), clusterIP, external, orNone(strings.Join(ports, ",")),
		Age(s.GetMetadata(), now), orNone(formatLabels(sp.GetSelector()))}
}

func formatEndpoints(e *corev1.Endpoints) string {
	var list []string
	total := 0
	for _, ss := range e.GetSubsets() {
		for _, a := range ss.GetAddresses() {
			if len(ss.GetPorts()) == 0 {
				total++
				if len(list) < 3 {
					list = append(list, a.GetIp())
				}
				continue
			}
			for _, p := range ss.GetPorts() {
				total++
				if len(list) < 3 {
					list = append(list, fmt.Sprintf("%s:%d", a.GetIp(), p.GetPort()))
				}
			}
		}
	}
	if total == 0 {
		return "<none>"
	}
	s := strings.Join(list, ",")
	if total > len(list) {
		s += fmt.Sprintf(" + %d more...", total-len(list))
	}
	return s
}

func eventCells(e *corev1.Event, now time.Time) []any {
	first, last := e.GetFirstTimestamp(), e.GetLastTimestamp()
	if last == nil {
		last = e.GetEventTime()
	}
	if first == nil {
		first = e.GetEventTime()
	}
	ago := func(t interface{ AsTime() time.Time }, present bool) string {
		if !present {
			return "<unknown>"
		}
		return duration.HumanDuration(now.Sub(t.AsTime()))
	}
	o := e.GetInvolvedObject()
	source := e.GetSource().GetComponent()
	if source == "" {
		source = e.GetReportingComponent()
	}
	if h := e.GetSource().GetHost(); h != "" {
		source += ", " + h
	}
	count := e.GetCount()
	if count == 0 {
		count = 1
	}
	return []any{ago(last, last != nil), e.GetType(), e.GetReason(), strings.ToLower(o.GetKind()) + "/" + o.GetName(),
		o.GetFieldPath(), source, strings.TrimSpace(e.GetMessage()), ago(first, first != nil), strconv.Itoa(int(count)),
		e.GetMetadata().GetName()}
}

func containers(t *corev1.PodTemplateSpec) (string, string) {
	var names, images []string
	for _, c := range t.GetSpec().GetContainers() {
		names = append(names, c.GetName())
		images = append(images, c.GetImage())
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}

func formatLabels(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// FormatLabelSelector renders a selector as kubectl does:
// "app=web,tier in (a,b)", "<none>" when empty.
func FormatLabelSelector(sel *metav1.LabelSelector) string {
	if sel == nil {
		return "<none>"
	}
	parts := []string{}
	if l := formatLabels(sel.GetMatchLabels()); l != "" {
		parts = append(parts, l)
	}
	for _, r := range sel.GetMatchExpressions() {
		values := strings.Join(r.GetValues(), ",")
		switch r.GetOperator() {
		case "In":
			parts = append(parts, fmt.Sprintf("%s in (%s)", r.GetKey(), values))
		case "NotIn":
			parts = append(parts, fmt.Sprintf("%s notin (%s)", r.GetKey(), values))
		case "Exists":
			parts = append(parts, r.GetKey())
		case "DoesNotExist":
			parts = append(parts, "!"+r.GetKey())
		}
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ",")
}

// formatSlicePorts lists ports as kubectl does: "80,443", "<unset>" for a
// port without number, "<unset>" when there are none.
func formatSlicePorts(s *discoveryv1.EndpointSlice) string {
	if len(s.GetPorts()) == 0 {
		return "<unset>"
	}
	parts := make([]string, 0, len(s.GetPorts()))
	for _, p := range s.GetPorts() {
		if p.Port == nil {
			parts = append(parts, "<unset>")
			continue
		}
		parts = append(parts, strconv.Itoa(int(p.GetPort())))
	}
	return strings.Join(parts, ",")
}

// formatSliceEndpoints lists up to three addresses and how many more.
func formatSliceEndpoints(s *discoveryv1.EndpointSlice) string {
	var all []string
	for _, e := range s.GetEndpoints() {
		all = append(all, e.GetAddresses()...)
	}
	if len(all) == 0 {
		return "<none>"
	}
	if len(all) > 3 {
		return strings.Join(all[:3], ",") + fmt.Sprintf(" + %d more...", len(all)-3)
	}
	return strings.Join(all, ",")
}

// eventPrinter prints core/v1 Events.
var eventPrinter = &Printer{
	Columns: []*metav1.TableColumnDefinition{
		col("Last Seen", "string", "Time when last event occurred."), col("Type", "string", "Type of this event."),
		col("Reason", "string", "Short, machine understandable string that gives the reason for this event."),
		col("Object", "string", "The object this Event is about."),
		wide(col("Subobject", "string", "The subobject of the involved object.")),
		wide(col("Source", "string", "The component reporting this event.")),
		col("Message", "string", "A human-readable description of the status of this operation."),
		wide(col("First Seen", "string", "The first time the event occurred.")),
		wide(col("Count", "string", "The number of times this event has occurred.")),
		wide(&metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: "Name of the event."}),
	},
	Cells: typed(eventCells),
}

// flowSchemaCells: the matching precedence as a number, "<none>" for no
// distinguisher, and MissingPL from the Dangling condition ("?" without
// one: nothing in Skiff maintains it yet).
func flowSchemaCells(fs *flowcontrolv1.FlowSchema, now time.Time) []any {
	sp := fs.GetSpec()
	method := "<none>"
	if sp.GetDistinguisherMethod() != nil {
		method = sp.GetDistinguisherMethod().GetType()
	}
	missing := "?"
	for _, c := range fs.GetStatus().GetConditions() {
		if c.GetType() == "Dangling" {
			missing = c.GetStatus()
			break
		}
	}
	return []any{fs.GetMetadata().GetName(), sp.GetPriorityLevelConfiguration().GetName(), int64(sp.GetMatchingPrecedence()),
		method, Age(fs.GetMetadata(), now), missing}
}

// priorityLevelCells: the limited level's shares and queuing, "<none>"
// where the level has none.
func priorityLevelCells(pl *flowcontrolv1.PriorityLevelConfiguration, now time.Time) []any {
	shares, queues, hand, length := any("<none>"), any("<none>"), any("<none>"), any("<none>")
	if l := pl.GetSpec().GetLimited(); l != nil {
		shares = int64(l.GetNominalConcurrencyShares())
		if q := l.GetLimitResponse().GetQueuing(); q != nil {
			queues, hand, length = int64(q.GetQueues()), int64(q.GetHandSize()), int64(q.GetQueueLengthLimit())
		}
	}
	return []any{pl.GetMetadata().GetName(), pl.GetSpec().GetType(), shares, queues, hand, length, Age(pl.GetMetadata(), now)}
}

// formatParentRef is an IPAddress's holder as kubectl shows it:
// resource.group/namespace/name, lower case.
func formatParentRef(ref *networkingv1.ParentReference) string {
	if ref == nil {
		return "<none>"
	}
	s := ref.GetResource()
	if ref.GetGroup() != "" {
		s += "." + ref.GetGroup()
	}
	s = strings.ToLower(s)
	if ref.GetNamespace() != "" {
		s += "/" + ref.GetNamespace()
	}
	return s + "/" + ref.GetName()
}

// createdAtPrinter is Kubernetes' default table of a kind without
// printers of its own (CustomResourceDefinitions, Roles, ClusterRoles):
// the name and the creation time as an RFC 3339 date.
var createdAtPrinter = &Printer{
	Columns: []*metav1.TableColumnDefinition{nameColumn(), {Name: "Created At", Type: "date",
		Description: "CreationTimestamp is a timestamp representing the server time when this object was created."}},
	Cells: func(obj proto.Message, now time.Time) []any {
		meta := metaOf(obj)
		return []any{meta.GetName(), meta.GetCreationTimestamp().AsTime().UTC().Format(time.RFC3339)}
	},
}

// bindingPrinter is the table of a RoleBinding or ClusterRoleBinding
// (what names the kind in the wide columns' descriptions, role describes
// its role reference): the role as Kind/name, and, wide, the subjects by
// kind.
func bindingPrinter(what, role string, cells func(proto.Message, time.Time) []any) *Printer {
	return &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Role", "string", role),
			ageCol(),
			wide(col("Users", "string", "Users in the "+what)),
			wide(col("Groups", "string", "Groups in the "+what)),
			wide(col("ServiceAccounts", "string", "ServiceAccounts in the "+what)),
		},
		Cells: cells,
	}
}

// bindingCells: service accounts as namespace/name, each list joined
// with ", " as kubectl shows them; subjects of other kinds are not shown.
func bindingCells(meta *metav1.ObjectMeta, ref *rbacv1.RoleRef, subjects []*rbacv1.Subject, now time.Time) []any {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.GetKind() {
		case "User":
			users = append(users, s.GetName())
		case "Group":
			groups = append(groups, s.GetName())
		case "ServiceAccount":
			sas = append(sas, s.GetNamespace()+"/"+s.GetName())
		}
	}
	return []any{meta.GetName(), ref.GetKind() + "/" + ref.GetName(), Age(meta, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", ")}
}

// csrCells: the requested duration as a human duration, and the
// condition as kubectl shows it: Denied before Approved before Pending,
// then ",Failed" and ",Issued".
func csrCells(csr *certificatesv1.CertificateSigningRequest, now time.Time) []any {
	requested := "<none>"
	if s := csr.GetSpec().ExpirationSeconds; s != nil {
		requested = duration.HumanDuration(time.Duration(*s) * time.Second)
	}
	var approved, denied, failed bool
	for _, c := range csr.GetStatus().GetConditions() {
		switch c.GetType() {
		case "Approved":
			approved = true
		case "Denied":
			denied = true
		case "Failed":
			failed = true
		}
	}
	condition := "Pending"
	switch {
	case denied:
		condition = "Denied"
	case approved:
		condition = "Approved"
	}
	if failed {
		condition += ",Failed"
	}
	if len(csr.GetStatus().GetCertificate()) > 0 {
		condition += ",Issued"
	}
	return []any{csr.GetMetadata().GetName(), Age(csr.GetMetadata(), now), orNone(csr.GetSpec().GetSignerName()),
		csr.GetSpec().GetUsername(), requested, condition}
}

// revisionController names a revision's controller as kind.group/name in
// lower case (daemonset.apps/web), or <none>.
func revisionController(meta *metav1.ObjectMeta) string {
	for _, ref := range meta.GetOwnerReferences() {
		if !ref.GetController() {
			continue
		}
		kind := ref.GetKind()
		if group, _, ok := strings.Cut(ref.GetApiVersion(), "/"); ok {
			kind += "." + group
		}
		return strings.ToLower(kind) + "/" + ref.GetName()
	}
	return "<none>"
}
