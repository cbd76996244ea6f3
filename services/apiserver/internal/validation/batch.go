package validation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// The labels a Job's generated selector and its pods carry.
const (
	JobControllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	JobNameLabel                = "batch.kubernetes.io/job-name"
	LegacyJobControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel          = "job-name"
)

// Kubernetes' limits on a Job's spec.
const (
	maxParallelismIndexed      = 100000
	maxFailedIndexesIndexed    = 100000
	completionsSoftLimit       = 100000
	parallelismHighCompletions = 10000
	maxFailedHighCompletions   = 10000
	maxPodFailurePolicyRules   = 20
	maxOnExitCodesValues       = 255
	maxOnPodConditions         = 20
	maxManagedByLength         = 63
	maxSucceededIndexesLength  = 64 * 1024
	maxSuccessPolicyRules      = 20
)

var (
	podFailurePolicyActions = []string{"Count", "FailIndex", "FailJob", "Ignore"}
	onExitCodesOperators    = []string{"In", "NotIn"}
	conditionStatuses       = []string{"False", "True", "Unknown"}
	podReplacementPolicies  = []string{"Failed", "TerminatingOrFailed"}
)

// JobOptions are the relaxations Kubernetes grants an update.
type JobOptions struct {
	// MutableSchedulingDirectives: a suspended Job that never started may
	// change its template's node affinity, node selector, tolerations,
	// labels, annotations and scheduling gates.
	MutableSchedulingDirectives bool
	// RequirePrefixedLabels: the batch.kubernetes.io/ labels must be on
	// the template (false only for old Jobs created without them).
	RequirePrefixedLabels bool
}

// ValidateJob checks a Job as Kubernetes does on create.
func ValidateJob(j *batchv1.Job) field.ErrorList {
	return ValidateJobWith(j, JobOptions{RequirePrefixedLabels: true})
}

// ValidateJobWith checks a Job with the given options.
func ValidateJobWith(j *batchv1.Job, opts JobOptions) field.ErrorList {
	errs := validateGeneratedSelector(j, opts.RequirePrefixedLabels)
	errs = append(errs, validateJobSpec(j.GetSpec(), field.NewPath("spec"))...)
	sp := j.GetSpec()
	if sp.GetCompletionMode() == "Indexed" && sp.GetCompletions() > 0 {
		host := fmt.Sprintf("%s-%d", j.GetMetadata().GetName(), sp.GetCompletions()-1)
		if len(validation.IsDNS1123Label(host)) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), j.GetMetadata().GetName(),
				"will not able to create pod with invalid DNS label: "+host))
		}
	}
	return errs
}

// validateGeneratedSelector: a generated selector must select the Job's
// own uid, and the template must carry the labels it was given.
func validateGeneratedSelector(j *batchv1.Job, prefixed bool) field.ErrorList {
	sp := j.GetSpec()
	if sp.GetManualSelector() || sp.GetSelector() == nil {
		return nil
	}
	var errs field.ErrorList
	uid, name := j.GetMetadata().GetUid(), j.GetMetadata().GetName()
	if uid == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	tp := field.NewPath("spec", "template", "metadata")
	want := map[string]string{LegacyJobControllerUIDLabel: uid, LegacyJobNameLabel: name}
	keys := []string{LegacyJobControllerUIDLabel, LegacyJobNameLabel}
	if prefixed {
		want[JobControllerUIDLabel], want[JobNameLabel] = uid, name
		keys = append(keys, JobControllerUIDLabel, JobNameLabel)
	}
	tl := sp.GetTemplate().GetMetadata().GetLabels()
	for _, k := range keys {
		v, ok := tl[k]
		switch {
		case !ok:
			errs = append(errs, field.Required(tp.Child("labels").Key(k), "must be '"+want[k]+"'"))
		case v != want[k]:
			errs = append(errs, field.Invalid(tp.Child("labels").Key(k), v, "must be '"+want[k]+"'"))
		}
	}
	if sel, err := k8smeta.LabelSelectorAsSelector(toK8sSelector(sp.GetSelector())); err == nil && !sel.Matches(k8slabels.Set(want)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), selectorString(sp.GetSelector()), "`selector` not auto-generated"))
	}
	return errs
}

func validateJobSpec(sp *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int64
	}{
		{"parallelism", i32(sp.Parallelism)}, {"completions", i32(sp.Completions)},
		{"activeDeadlineSeconds", sp.ActiveDeadlineSeconds}, {"backoffLimit", i32(sp.BackoffLimit)},
		{"ttlSecondsAfterFinished", i32(sp.TtlSecondsAfterFinished)}, {"backoffLimitPerIndex", i32(sp.BackoffLimitPerIndex)},
		{"maxFailedIndexes", i32(sp.MaxFailedIndexes)},
	} {
		if f.v != nil {
			errs = append(errs, nonNegative(*f.v, p.Child(f.name))...)
		}
	}
	if sp.MaxFailedIndexes != nil && sp.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if sp.ManagedBy != nil {
		errs = append(errs, domainPrefixedPath(p.Child("managedBy"), sp.GetManagedBy())...)
		if len(sp.GetManagedBy()) > maxManagedByLength {
			errs = append(errs, field.TooLong(p.Child("managedBy"), maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(sp, p)...)
	if sp.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(sp, p.Child("podFailurePolicy"))...)
	}
	if sp.SuccessPolicy != nil {
		if sp.GetCompletionMode() != "Indexed" {
			errs = append(errs, field.Invalid(p.Child("successPolicy"), nil, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(sp, p.Child("successPolicy"))...)
		}
	}
	if sp.PodReplacementPolicy != nil {
		rp := sp.GetPodReplacementPolicy()
		if sp.PodFailurePolicy != nil && rp != "Failed" {
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), rp, []string{"Failed"}))
		} else if sp.PodFailurePolicy == nil && !slices.Contains(podReplacementPolicies, rp) {
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), rp, podReplacementPolicies))
		}
	}
	tp := p.Child("template")
	errs = append(errs, ValidatePodTemplateSpec(sp.GetTemplate(), tp)...)
	switch rp := sp.GetTemplate().GetSpec().GetRestartPolicy(); {
	case rp == "Always" || rp == "":
		errs = append(errs, field.Required(tp.Child("spec", "restartPolicy"), `valid values: "OnFailure", "Never"`))
	case rp != "OnFailure" && rp != "Never":
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"OnFailure", "Never"}))
	case sp.PodFailurePolicy != nil && rp != "Never":
		errs = append(errs, field.Invalid(tp.Child("spec", "restartPolicy"), rp, `only "Never" is supported when podFailurePolicy is specified`))
	}
	if sp.GetSelector() == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, validateLabelSelector(sp.GetSelector(), p.Child("selector"))...)
	}
	if sel, err := k8smeta.LabelSelectorAsSelector(toK8sSelector(sp.GetSelector())); err == nil {
		tl := sp.GetTemplate().GetMetadata().GetLabels()
		if !sel.Matches(k8slabels.Set(tl)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), k8slabels.Set(tl).String(), "`selector` does not match template `labels`"))
		}
	}
	return errs
}

func i32(v *int32) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

func domainPrefixedPath(p *field.Path, v string) field.ErrorList {
	domain, path, ok := strings.Cut(v, "/")
	if !ok || path == "" {
		return field.ErrorList{field.Invalid(p, v, "must be a domain-prefixed path (such as \"acme.io/foo\")")}
	}
	return invalid(p, domain, validation.IsDNS1123Subdomain(domain))
}

func validateCompletionMode(sp *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	mode := sp.GetCompletionMode()
	if sp.CompletionMode != nil && mode != "NonIndexed" && mode != "Indexed" {
		errs = append(errs, field.NotSupported(p.Child("completionMode"), mode, []string{"NonIndexed", "Indexed"}))
	}
	if mode == "Indexed" {
		if sp.Completions == nil {
			errs = append(errs, field.Required(p.Child("completions"), "when completion mode is Indexed"))
		}
		if sp.Parallelism != nil && sp.GetParallelism() > maxParallelismIndexed {
			errs = append(errs, field.Invalid(p.Child("parallelism"), sp.GetParallelism(), fmt.Sprintf("must be less than or equal to %d when completion mode is Indexed", maxParallelismIndexed)))
		}
		if sp.Completions != nil && sp.MaxFailedIndexes != nil && sp.GetMaxFailedIndexes() > sp.GetCompletions() {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), sp.GetMaxFailedIndexes(), "must be less than or equal to completions"))
		}
		if sp.MaxFailedIndexes != nil && sp.GetMaxFailedIndexes() > maxFailedIndexesIndexed {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), sp.GetMaxFailedIndexes(), fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesIndexed)))
		}
		if sp.GetCompletions() > completionsSoftLimit && sp.BackoffLimitPerIndex != nil {
			if sp.MaxFailedIndexes == nil {
				errs = append(errs, field.Required(p.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
			}
			if sp.Parallelism != nil && sp.GetParallelism() > parallelismHighCompletions {
				errs = append(errs, field.Invalid(p.Child("parallelism"), sp.GetParallelism(), fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", parallelismHighCompletions, completionsSoftLimit)))
			}
			if sp.MaxFailedIndexes != nil && sp.GetMaxFailedIndexes() > maxFailedHighCompletions {
				errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), sp.GetMaxFailedIndexes(), fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", maxFailedHighCompletions, completionsSoftLimit)))
			}
		}
		return errs
	}
	if sp.BackoffLimitPerIndex != nil {
		errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), sp.GetBackoffLimitPerIndex(), "requires indexed completion mode"))
	}
	if sp.MaxFailedIndexes != nil {
		errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), sp.GetMaxFailedIndexes(), "requires indexed completion mode"))
	}
	return errs
}

func validatePodFailurePolicy(sp *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := sp.GetPodFailurePolicy().GetRules()
	rp := p.Child("rules")
	if len(rules) > maxPodFailurePolicyRules {
		errs = append(errs, field.TooMany(rp, len(rules), maxPodFailurePolicyRules))
	}
	names := map[string]bool{}
	for _, c := range sp.GetTemplate().GetSpec().GetContainers() {
		names[c.GetName()] = true
	}
	for _, c := range sp.GetTemplate().GetSpec().GetInitContainers() {
		names[c.GetName()] = true
	}
	for i, r := range rules {
		errs = append(errs, validatePodFailurePolicyRule(sp, r, rp.Index(i), names)...)
	}
	return errs
}

func validatePodFailurePolicyRule(sp *batchv1.JobSpec, r *batchv1.PodFailurePolicyRule, p *field.Path, names map[string]bool) field.ErrorList {
	var errs field.ErrorList
	ap := p.Child("action")
	switch a := r.GetAction(); {
	case a == "":
		errs = append(errs, field.Required(ap, "valid values: "+quotedList(podFailurePolicyActions)))
	case a == "FailIndex":
		if sp.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(ap, a, "requires the backoffLimitPerIndex to be set"))
		}
	case !slices.Contains(podFailurePolicyActions, a):
		errs = append(errs, field.NotSupported(ap, a, podFailurePolicyActions))
	}
	if r.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(r.GetOnExitCodes(), p.Child("onExitCodes"), names)...)
	}
	if n := len(r.GetOnPodConditions()); n > 0 {
		cp := p.Child("onPodConditions")
		if n > maxOnPodConditions {
			errs = append(errs, field.TooMany(cp, n, maxOnPodConditions))
		}
		for j, c := range r.GetOnPodConditions() {
			errs = append(errs, qualifiedName(c.GetType(), cp.Index(j).Child("type"))...)
			sp := cp.Index(j).Child("status")
			if c.GetStatus() == "" {
				errs = append(errs, field.Required(sp, "valid values: "+quotedList(conditionStatuses)))
			} else if !slices.Contains(conditionStatuses, c.GetStatus()) {
				errs = append(errs, field.NotSupported(sp, c.GetStatus(), conditionStatuses))
			}
		}
	}
	switch {
	case r.OnExitCodes != nil && len(r.GetOnPodConditions()) > 0:
		errs = append(errs, field.Invalid(p, nil, "specifying both OnExitCodes and OnPodConditions is not supported"))
	case r.OnExitCodes == nil && len(r.GetOnPodConditions()) == 0:
		errs = append(errs, field.Invalid(p, nil, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnExitCodes(r *batchv1.PodFailurePolicyOnExitCodesRequirement, p *field.Path, names map[string]bool) field.ErrorList {
	var errs field.ErrorList
	op := p.Child("operator")
	if r.GetOperator() == "" {
		errs = append(errs, field.Required(op, "valid values: "+quotedList(onExitCodesOperators)))
	} else if !slices.Contains(onExitCodesOperators, r.GetOperator()) {
		errs = append(errs, field.NotSupported(op, r.GetOperator(), onExitCodesOperators))
	}
	if r.ContainerName != nil && !names[r.GetContainerName()] {
		errs = append(errs, field.Invalid(p.Child("containerName"), r.GetContainerName(), "must be one of the container or initContainer names in the pod template"))
	}
	vp, vals := p.Child("values"), r.GetValues()
	if len(vals) == 0 {
		errs = append(errs, field.Invalid(vp, int32List(vals), "at least one value is required"))
	} else if len(vals) > maxOnExitCodesValues {
		errs = append(errs, field.TooMany(vp, len(vals), maxOnExitCodesValues))
	}
	seen := map[int32]bool{}
	for j, v := range vals {
		if r.GetOperator() == "In" && v == 0 {
			errs = append(errs, field.Invalid(vp.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen[v] {
			errs = append(errs, field.Duplicate(vp.Index(j), v))
		}
		seen[v] = true
	}
	if !slices.IsSorted(vals) {
		errs = append(errs, field.Invalid(vp, int32List(vals), "must be ordered"))
	}
	return errs
}

// int32List renders as Kubernetes renders a []int32 bad value: [1,2,3].
type int32List []int32

func (l int32List) String() string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = strconv.Itoa(int(v))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func quotedList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func qualifiedName(v string, p *field.Path) field.ErrorList {
	return invalid(p, v, validation.IsQualifiedName(v))
}

func validateSuccessPolicy(sp *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules, rp := sp.GetSuccessPolicy().GetRules(), p.Child("rules")
	if len(rules) == 0 {
		errs = append(errs, field.Required(rp, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rp, len(rules), maxSuccessPolicyRules))
	}
	for i, r := range rules {
		p := rp.Index(i)
		if r.SucceededCount == nil && r.SucceededIndexes == nil {
			errs = append(errs, field.Required(p, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if r.SucceededIndexes != nil {
			ip := p.Child("succeededIndexes")
			if len(r.GetSucceededIndexes()) > maxSucceededIndexesLength {
				errs = append(errs, field.TooLong(ip, maxSucceededIndexesLength))
			}
			var err error
			if total, err = IndexesCount(r.GetSucceededIndexes(), sp.GetCompletions()); err != nil {
				errs = append(errs, field.Invalid(ip, r.GetSucceededIndexes(), "error parsing succeededIndexes: "+err.Error()))
			}
		}
		if r.SucceededCount != nil {
			cp := p.Child("succeededCount")
			errs = append(errs, nonNegative(int64(r.GetSucceededCount()), cp)...)
			if r.GetSucceededCount() > sp.GetCompletions() {
				errs = append(errs, field.Invalid(cp, r.GetSucceededCount(), fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", sp.GetCompletions())))
			}
			if r.SucceededIndexes != nil && r.GetSucceededCount() > total {
				errs = append(errs, field.Invalid(cp, r.GetSucceededCount(), fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// IndexesCount checks an index list ("1,3-5,7") against completions and
// counts its indexes.
func IndexesCount(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var total int32
	last := int32(-1)
	for _, part := range strings.Split(s, ",") {
		x, y, err := indexInterval(part, completions)
		if err != nil {
			return 0, err
		}
		if last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", last, x)
		}
		total += y - x + 1
		last = y
	}
	return total, nil
}

func indexInterval(s string, completions int32) (int32, int32, error) {
	limits := strings.Split(s, "-")
	if len(limits) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", s)
	}
	var bounds [2]int32
	for i, l := range limits {
		n, err := strconv.Atoi(l)
		if err != nil {
			return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", l)
		}
		if n >= int(completions) {
			return 0, 0, fmt.Errorf("too large index: %q", l)
		}
		bounds[i] = int32(n)
	}
	if len(limits) == 1 {
		return bounds[0], bounds[0], nil
	}
	if bounds[0] >= bounds[1] {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", bounds[0], bounds[1])
	}
	return bounds[0], bounds[1], nil
}

// ValidateJobUpdate checks what an update of a Job may not change, with
// Kubernetes' relaxations for a suspended Job that never started.
func ValidateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	sp, osp, p := j.GetSpec(), old.GetSpec(), field.NewPath("spec")
	var errs field.ErrorList
	if sp.GetCompletionMode() != "Indexed" {
		if !eqPtr(sp.Completions, osp.Completions) {
			errs = append(errs, immutable(p.Child("completions"), ptrValue(sp.Completions)))
		}
	} else if sp.Completions != nil && sp.GetCompletions() != osp.GetCompletions() && sp.GetCompletions() != sp.GetParallelism() {
		errs = append(errs, field.Invalid(p.Child("completions"), sp.GetCompletions(), "can only be modified in tandem with spec.parallelism"))
	}
	if !proto.Equal(sp.GetSelector(), osp.GetSelector()) {
		errs = append(errs, immutable(p.Child("selector"), selectorString(sp.GetSelector())))
	}
	if !proto.Equal(jobTemplateForCompare(j, old), osp.GetTemplate()) {
		errs = append(errs, immutable(p.Child("template"), nil))
	}
	if !eqPtr(sp.CompletionMode, osp.CompletionMode) {
		errs = append(errs, immutable(p.Child("completionMode"), sp.CompletionMode))
	}
	if !proto.Equal(sp.GetPodFailurePolicy(), osp.GetPodFailurePolicy()) {
		errs = append(errs, immutable(p.Child("podFailurePolicy"), nil))
	}
	if !eqPtr(sp.BackoffLimitPerIndex, osp.BackoffLimitPerIndex) {
		errs = append(errs, immutable(p.Child("backoffLimitPerIndex"), ptrValue(sp.BackoffLimitPerIndex)))
	}
	if !eqPtr(sp.ManagedBy, osp.ManagedBy) {
		errs = append(errs, immutable(p.Child("managedBy"), sp.ManagedBy))
	}
	if !proto.Equal(sp.GetSuccessPolicy(), osp.GetSuccessPolicy()) {
		errs = append(errs, immutable(p.Child("successPolicy"), nil))
	}
	return errs
}

// jobTemplateForCompare is the new template with what a suspended Job
// that never started may change taken from the old one.
func jobTemplateForCompare(j, old *batchv1.Job) *corev1.PodTemplateSpec {
	t := j.GetSpec().GetTemplate()
	if !old.GetSpec().GetSuspend() || old.GetStatus().GetStartTime() != nil {
		return t
	}
	c := proto.Clone(t).(*corev1.PodTemplateSpec)
	ot := old.GetSpec().GetTemplate()
	if c.Metadata != nil || ot.GetMetadata() != nil {
		if c.Metadata == nil {
			c.Metadata = &metav1.ObjectMeta{}
		}
		c.Metadata.Labels, c.Metadata.Annotations = ot.GetMetadata().GetLabels(), ot.GetMetadata().GetAnnotations()
	}
	if c.Spec != nil {
		c.Spec.NodeSelector, c.Spec.Tolerations = ot.GetSpec().GetNodeSelector(), ot.GetSpec().GetTolerations()
		if c.Spec.Affinity != nil || ot.GetSpec().GetAffinity() != nil {
			if c.Spec.Affinity == nil {
				c.Spec.Affinity = &corev1.Affinity{}
			}
			c.Spec.Affinity.NodeAffinity = ot.GetSpec().GetAffinity().GetNodeAffinity()
			if proto.Equal(c.Spec.Affinity, &corev1.Affinity{}) && ot.GetSpec().GetAffinity() == nil {
				c.Spec.Affinity = nil
			}
		}
	}
	return c
}

func eqPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// ptrValue is a bad value of an optional field: its value, or null.
func ptrValue[T any](v *T) any {
	if v == nil {
		return "null"
	}
	return *v
}

// ValidateJobStatusUpdate checks a write of a Job's status as
// Kubernetes does: counters never decrease, terminal conditions stay,
// the completion time does not move, a finished Job has no active pods
// and has counted all of its pods.
func ValidateJobStatusUpdate(j, old *batchv1.Job) field.ErrorList {
	st, ost, p := j.GetStatus(), old.GetStatus(), field.NewPath("status")
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		v    int32
	}{{"active", st.GetActive()}, {"succeeded", st.GetSucceeded()}, {"failed", st.GetFailed()}} {
		errs = append(errs, nonNegative(int64(f.v), p.Child(f.name))...)
	}
	if st.GetReady() != 0 {
		errs = append(errs, nonNegative(int64(st.GetReady()), p.Child("ready"))...)
	}
	if st.GetTerminating() != 0 {
		errs = append(errs, nonNegative(int64(st.GetTerminating()), p.Child("terminating"))...)
	}
	for _, t := range []string{"Failed", "Complete", "FailureTarget"} {
		if JobConditionTrue(old, t) && !JobConditionTrue(j, t) {
			errs = append(errs, field.Invalid(p.Child("conditions"), nil, "cannot disable the terminal "+t+"=True condition"))
		}
	}
	if JobConditionTrue(old, "SuccessCriteriaMet") && !JobConditionTrue(j, "SuccessCriteriaMet") {
		errs = append(errs, field.Invalid(p.Child("conditions"), nil, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if st.GetFailed() < ost.GetFailed() {
		errs = append(errs, field.Invalid(p.Child("failed"), st.GetFailed(), "cannot decrease the failed counter"))
	}
	indexedScaled := j.GetSpec().GetCompletionMode() == "Indexed" && eqPtr(j.GetSpec().Completions, j.GetSpec().Parallelism)
	if !indexedScaled && st.GetSucceeded() < ost.GetSucceeded() {
		errs = append(errs, field.Invalid(p.Child("succeeded"), st.GetSucceeded(), "cannot decrease the succeeded counter"))
	}
	if st.GetCompletionTime() != nil && ost.GetCompletionTime() != nil && !proto.Equal(st.GetCompletionTime(), ost.GetCompletionTime()) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), st.GetCompletionTime().AsTime().UTC().Format("2006-01-02T15:04:05Z"), "field is immutable"))
	}
	finished := JobConditionTrue(j, "Complete") || JobConditionTrue(j, "Failed")
	if finished && st.GetActive() > 0 && (!jobFinished(old) || st.GetActive() != ost.GetActive()) {
		errs = append(errs, field.Invalid(p.Child("active"), st.GetActive(), "active>0 is invalid for finished job"))
	}
	u := st.GetUncountedTerminatedPods()
	if finished && len(u.GetSucceeded())+len(u.GetFailed()) > 0 && !jobFinished(old) {
		errs = append(errs, field.Invalid(p.Child("uncountedTerminatedPods"), nil, "uncountedTerminatedPods needs to be empty for finished job"))
	}
	if st.GetCompletedIndexes() != ost.GetCompletedIndexes() {
		if j.GetSpec().GetCompletionMode() != "Indexed" {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), st.GetCompletedIndexes(), "cannot set non-empty completedIndexes when non-indexed completion mode"))
		} else if _, err := IndexesCount(st.GetCompletedIndexes(), j.GetSpec().GetCompletions()); err != nil {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), st.GetCompletedIndexes(), "error parsing completedIndexes: "+err.Error()))
		}
	}
	return errs
}

func jobFinished(j *batchv1.Job) bool {
	return JobConditionTrue(j, "Complete") || JobConditionTrue(j, "Failed")
}

// JobConditionTrue reports whether the Job has the condition with status True.
func JobConditionTrue(j *batchv1.Job, t string) bool {
	for _, c := range j.GetStatus().GetConditions() {
		if c.GetType() == t && c.GetStatus() == "True" {
			return true
		}
	}
	return false
}
