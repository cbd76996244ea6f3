// Package podsecurity is Kubernetes' PodSecurity admission plugin: a
// namespace asks for one of the Pod Security Standards (privileged,
// baseline, restricted), at a version of their definition, with its
// pod-security.kubernetes.io/ labels, in three modes:
//
//   - enforce (pod-security.kubernetes.io/enforce, -enforce-version): a pod
//     that violates the level is refused with 403 Forbidden;
//   - warn (pod-security.kubernetes.io/warn, -warn-version): the write
//     succeeds with a Warning header, which kubectl prints;
//   - audit (pod-security.kubernetes.io/audit, -audit-version): the write
//     succeeds and its audit event carries the violation in the
//     pod-security.kubernetes.io/audit-violations annotation.
//
// Pods are checked on create and on updates that change what the
// standards look at (images, containers, ephemeral containers); workload
// resources with a pod template (Deployments, ReplicaSets, Jobs, ...) are
// only warned about, never refused, as in Kubernetes. Labelling a
// namespace with a stricter enforce level warns about the pods already in
// it that violate it. Namespace labels with unknown levels or versions are
// invalid.
//
// The checks themselves are Kubernetes' own, from the
// k8s.io/pod-security-admission module's policy package: a pod is turned
// into k8s.io/api types through its Kubernetes JSON. The configuration is
// Kubernetes' default one (every mode privileged:latest unless the
// namespace says otherwise, no exempt users, namespaces or runtime
// classes); --admission-control-config-file is not read.
package podsecurity

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"
	k8scorev1 "k8s.io/api/core/v1"
	k8smetav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	sigsjson "sigs.k8s.io/json"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

// Name is the plugin's name.
const Name = "PodSecurity"

// How many existing pods a new enforce level is checked against, and for
// how long at most: Kubernetes' limits.
const (
	maxPodsToCheck  = 3000
	podCheckTimeout = time.Second
)

// groupResource names a resource.
type groupResource struct{ group, resource string }

// templates are the workload resources whose pod template is checked (in
// warn mode only) and where the template sits in their JSON.
var templates = map[groupResource][]string{
	{"", "podtemplates"}:           {"template"},
	{"", "replicationcontrollers"}: {"spec", "template"},
	{"apps", "replicasets"}:        {"spec", "template"},
	{"apps", "deployments"}:        {"spec", "template"},
	{"apps", "statefulsets"}:       {"spec", "template"},
	{"apps", "daemonsets"}:         {"spec", "template"},
	{"batch", "jobs"}:              {"spec", "template"},
	{"batch", "cronjobs"}:          {"spec", "jobTemplate", "spec", "template"},
}

// ignoredPodSubresources are the pod subresources whose writes cannot
// change what the standards check; any other (ephemeralcontainers,
// resize, ...) is checked like the pod itself.
var ignoredPodSubresources = []string{"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"}

type plugin struct {
	namespaces, pods registry.Backend
	evaluator        policy.Evaluator
	// defaults is the policy of a namespace without labels.
	defaults psapi.Policy
	// maxPods and timeout limit the check of existing pods.
	maxPods int
	timeout time.Duration
}

// Plugin returns the plugin, reading namespaces and pods from their
// backends.
func Plugin(namespaces, pods registry.Backend) (admission.Plugin, error) {
	p, err := newPlugin(namespaces, pods)
	if err != nil {
		return admission.Plugin{}, err
	}
	return admission.Plugin{Name: Name, Validate: p.validate}, nil
}

func newPlugin(namespaces, pods registry.Backend) (*plugin, error) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, fmt.Errorf("pod security checks: %w", err)
	}
	privileged := psapi.LevelVersion{Level: psapi.LevelPrivileged, Version: psapi.LatestVersion()}
	return &plugin{
		namespaces: namespaces, pods: pods, evaluator: evaluator,
		defaults: psapi.Policy{Enforce: privileged, Audit: privileged, Warn: privileged},
		maxPods:  maxPodsToCheck, timeout: podCheckTimeout,
	}, nil
}

func (p *plugin) validate(ctx context.Context, w *registry.Write) error {
	if w.Operation != registry.OpCreate && w.Operation != registry.OpUpdate {
		return nil
	}
	gr := groupResource{w.Resource.Group, w.Resource.Plural}
	switch gr {
	case groupResource{"", "namespaces"}:
		return p.validateNamespace(ctx, w)
	case groupResource{"", "pods"}:
		return p.validatePod(ctx, w)
	}
	if path, ok := templates[gr]; ok {
		return p.validateTemplate(ctx, w, path)
	}
	return nil
}

// validateNamespace refuses labels that name no level or version and, when
// the enforce level becomes stricter, warns about the pods in the
// namespace that violate it.
func (p *plugin) validateNamespace(ctx context.Context, w *registry.Write) error {
	ns, ok := w.Object.(*corev1.Namespace)
	if !ok || w.Subresource != "" {
		return nil
	}
	next, errs := psapi.PolicyToEvaluate(ns.GetMetadata().GetLabels(), p.defaults)
	if w.Operation == registry.OpCreate {
		if len(errs) > 0 {
			return invalid(w, errs)
		}
		return nil
	}
	old, _ := w.Old.(*corev1.Namespace)
	prev, oldErrs := psapi.PolicyToEvaluate(old.GetMetadata().GetLabels(), p.defaults)
	// Labels that were already wrong the same way may stay, so that other
	// changes to the namespace remain possible.
	if len(errs) > 0 && (len(oldErrs) == 0 || !reflect.DeepEqual(errs, oldErrs)) {
		return invalid(w, errs)
	}
	switch {
	case next.Enforce == prev.Enforce,
		next.Enforce.Level == psapi.LevelPrivileged,
		next.Enforce.Version == prev.Enforce.Version && psapi.CompareLevels(next.Enforce.Level, prev.Enforce.Level) < 1:
		return nil
	}
	for _, msg := range p.existingPodWarnings(ctx, ns.GetMetadata().GetName(), next.Enforce) {
		warning.Add(ctx, msg)
	}
	return nil
}

// invalid is the 422 of bad pod-security labels.
func invalid(w *registry.Write, errs k8sfield.ErrorList) error {
	out := make(field.ErrorList, len(errs))
	for i, e := range errs {
		out[i] = &field.Error{Type: field.ErrorType(e.Type), Field: e.Field, BadValue: e.BadValue, Detail: e.Detail}
	}
	return apierrors.NewInvalid(w.Resource.ErrorResource(), w.Name, out)
}

// validatePod checks a pod against its namespace's enforce and warn levels.
func (p *plugin) validatePod(ctx context.Context, w *registry.Write) error {
	pod, ok := w.Object.(*corev1.Pod)
	if !ok || slices.Contains(ignoredPodSubresources, w.Subresource) {
		return nil
	}
	if old, ok := w.Old.(*corev1.Pod); ok && w.Operation == registry.OpUpdate && !significantUpdate(pod, old) {
		return nil
	}
	nsPolicy, _, err := p.namespacePolicy(ctx, w.Namespace)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("failed to lookup namespace %q", w.Namespace))
	}
	if nsPolicy.Enforce.Level == psapi.LevelPrivileged && nsPolicy.Warn.Level == psapi.LevelPrivileged &&
		nsPolicy.Audit.Level == psapi.LevelPrivileged {
		return nil
	}
	meta, spec, err := podParts(pod, nil)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("pod security: %w", err))
	}
	enforced := p.evaluate(nsPolicy.Enforce, meta, spec)
	if !enforced.Allowed {
		return apierrors.NewForbidden(w.Resource.ErrorResource(), w.Name,
			fmt.Sprintf("violates PodSecurity %q: %s", nsPolicy.Enforce.String(), enforced.ForbiddenDetail()))
	}
	warned := enforced
	if nsPolicy.Warn != nsPolicy.Enforce {
		warned = p.evaluate(nsPolicy.Warn, meta, spec)
	}
	p.warn(ctx, nsPolicy.Warn, warned)
	audited := enforced
	if nsPolicy.Audit != nsPolicy.Enforce {
		audited = p.evaluate(nsPolicy.Audit, meta, spec)
	}
	if !audited.Allowed {
		audit.AddAnnotation(ctx, auditViolations, fmt.Sprintf("would violate PodSecurity %q: %s", nsPolicy.Audit.String(), audited.ForbiddenDetail()))
	}
	return nil
}

// auditViolations is the audit annotation that records what a pod violates
// of its namespace's audit level.
const auditViolations = "pod-security.kubernetes.io/audit-violations"

// validateTemplate warns about a workload's pod template; it never
// refuses, so that a controller's pods, not the workload, are refused.
func (p *plugin) validateTemplate(ctx context.Context, w *registry.Write, path []string) error {
	if w.Subresource != "" || w.Object == nil {
		return nil
	}
	nsPolicy, _, err := p.namespacePolicy(ctx, w.Namespace)
	if err != nil || nsPolicy.Warn.Level == psapi.LevelPrivileged {
		return nil // Kubernetes admits the workload when it cannot check it
	}
	meta, spec, err := podParts(w.Object, path)
	if err != nil || spec == nil {
		return nil
	}
	p.warn(ctx, nsPolicy.Warn, p.evaluate(nsPolicy.Warn, meta, spec))
	return nil
}

func (p *plugin) evaluate(lv psapi.LevelVersion, meta *k8smetav1.ObjectMeta, spec *k8scorev1.PodSpec) policy.AggregateCheckResult {
	return policy.AggregateCheckResults(p.evaluator.EvaluatePod(lv, meta, spec))
}

// warn adds Kubernetes' warning for a result that violates the warn level.
func (p *plugin) warn(ctx context.Context, lv psapi.LevelVersion, r policy.AggregateCheckResult) {
	if !r.Allowed {
		warning.Add(ctx, fmt.Sprintf("would violate PodSecurity %q: %s", lv.String(), r.ForbiddenDetail()))
	}
}

// namespacePolicy is the policy of a namespace's labels; labels that do
// not parse give Kubernetes' fallbacks (restricted:latest for enforce,
// privileged for audit and warn) along with their errors.
func (p *plugin) namespacePolicy(ctx context.Context, name string) (psapi.Policy, k8sfield.ErrorList, error) {
	obj, err := p.namespaces.Get(ctx, "", name, registry.GetOptions{})
	if err != nil {
		return psapi.Policy{}, nil, err
	}
	ns, _ := obj.(*corev1.Namespace)
	nsPolicy, errs := psapi.PolicyToEvaluate(ns.GetMetadata().GetLabels(), p.defaults)
	return nsPolicy, errs, nil
}

// significantUpdate tells whether a pod update changes what the standards
// look at. The spec of a pod is immutable but for its images (and
// ephemeral containers, added through their subresource), so only those
// are compared, as Kubernetes does.
func significantUpdate(pod, old *corev1.Pod) bool {
	s, o := pod.GetSpec(), old.GetSpec()
	if len(s.GetContainers()) != len(o.GetContainers()) || len(s.GetInitContainers()) != len(o.GetInitContainers()) {
		return true
	}
	for i, c := range s.GetContainers() {
		if c.GetImage() != o.GetContainers()[i].GetImage() {
			return true
		}
	}
	for i, c := range s.GetInitContainers() {
		if c.GetImage() != o.GetInitContainers()[i].GetImage() {
			return true
		}
	}
	for _, ec := range s.GetEphemeralContainers() {
		c := ec.GetEphemeralContainerCommon()
		i := slices.IndexFunc(o.GetEphemeralContainers(), func(oc *corev1.EphemeralContainer) bool {
			return oc.GetEphemeralContainerCommon().GetName() == c.GetName()
		})
		if i < 0 || o.GetEphemeralContainers()[i].GetEphemeralContainerCommon().GetImage() != c.GetImage() {
			return true
		}
	}
	return false
}

// podParts gives the metadata and spec of a pod, or of the pod template at
// path in obj, as k8s.io/api types, through Kubernetes JSON. A workload
// without a template gives nil.
func podParts(obj proto.Message, path []string) (*k8smetav1.ObjectMeta, *k8scorev1.PodSpec, error) {
	data, err := kjson.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	for _, key := range path {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return nil, nil, err
		}
		next, ok := fields[key]
		if !ok || string(next) == "null" {
			return nil, nil, nil
		}
		data = next
	}
	// A pod and a pod template share metadata and spec.
	var t k8scorev1.PodTemplateSpec
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &t); err != nil {
		return nil, nil, err
	}
	return &t.ObjectMeta, &t.Spec, nil
}

// existingPodWarnings checks the pods of a namespace against a new enforce
// level, as Kubernetes does when the level is raised: one warning per
// distinct violation, naming the first pod (by name) and how many others
// share it, checking first one pod per controller, at most maxPods pods
// and for at most timeout (or half the request's remaining time).
func (p *plugin) existingPodWarnings(ctx context.Context, namespace string, enforce psapi.LevelVersion) []string {
	timeout := p.timeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline)/2)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	list, err := p.pods.List(ctx, namespace, registry.ListOptions{})
	if err != nil {
		return []string{"failed to list pods while checking new PodSecurity enforce level"}
	}
	pods := prioritize(list.(*corev1.PodList).GetItems())
	total, checked := len(pods), min(len(pods), p.maxPods)
	type violation struct {
		first string // the lexically first pod with it
		count int
	}
	var order []string // violations, in the order first seen
	seen := map[string]*violation{}
	for i, pod := range pods[:checked] {
		meta, spec, err := podParts(pod, nil)
		if err == nil {
			if r := p.evaluate(enforce, meta, spec); !r.Allowed {
				reason, name := r.ForbiddenReason(), pod.GetMetadata().GetName()
				v, ok := seen[reason]
				if !ok {
					v = &violation{first: name}
					seen[reason] = v
					order = append(order, reason)
				}
				v.first = min(v.first, name)
				v.count++
			}
		}
		if ctx.Err() != nil {
			checked = i + 1
			break
		}
	}
	var out []string
	if checked < total {
		out = append(out, fmt.Sprintf("new PodSecurity enforce level only checked against the first %d of %d existing pods", checked, total))
	}
	if len(order) > 0 {
		out = append(out, fmt.Sprintf("existing pods in namespace %q violate the new PodSecurity enforce level %q", namespace, enforce.String()))
	}
	var perPod []string
	for _, reason := range order {
		v := seen[reason]
		switch v.count {
		case 1:
			perPod = append(perPod, fmt.Sprintf("%s: %s", v.first, reason))
		case 2:
			perPod = append(perPod, fmt.Sprintf("%s (and 1 other pod): %s", v.first, reason))
		default:
			perPod = append(perPod, fmt.Sprintf("%s (and %d other pods): %s", v.first, v.count-1, reason))
		}
	}
	sort.Strings(perPod)
	return append(out, perPod...)
}

// prioritize puts first the pods without a controller and one pod of each
// controller, then the other pods of the controllers, so that a limited
// check sees as many different pod specs as it can.
func prioritize(pods []*corev1.Pod) []*corev1.Pod {
	var first, rest []*corev1.Pod
	controllers := map[string]bool{}
	for _, pod := range pods {
		uid := ""
		for _, ref := range pod.GetMetadata().GetOwnerReferences() {
			if ref.GetController() {
				uid = ref.GetUid()
				break
			}
		}
		switch {
		case uid == "":
			first = append(first, pod)
		case controllers[uid]:
			rest = append(rest, pod)
		default:
			controllers[uid] = true
			first = append(first, pod)
		}
	}
	return append(first, rest...)
}
