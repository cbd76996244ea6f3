package job

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func pod(name, phase string, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns", Uid: "uid-" + name,
		Finalizers: []string{TrackingFinalizer}, CreationTimestamp: timestamppb.New(t0)},
		Spec: &corev1.PodSpec{}, Status: &corev1.PodStatus{Phase: phase}}
	for _, m := range mods {
		m(p)
	}
	return p
}

func exited(container string, code int32, at time.Time) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, &corev1.ContainerStatus{Name: container,
			State: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: timestamppb.New(at)}}})
	}
}

func index(ix string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Metadata.Annotations = map[string]string{CompletionIndexAnnotation: ix} }
}

func TestMatchPodFailurePolicy(t *testing.T) {
	pfp := &batchv1.PodFailurePolicy{Rules: []*batchv1.PodFailurePolicyRule{
		{Action: "Ignore", OnPodConditions: []*batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget", Status: "True"}}},
		{Action: "FailJob", OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: proto.String("main"), Operator: "In", Values: []int32{42}}},
		{Action: "Count", OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: "NotIn", Values: []int32{1, 2}}},
	}}
	disrupted := func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, &corev1.PodCondition{Type: "DisruptionTarget", Status: "True"})
	}
	for _, tt := range []struct {
		name string
		pod  *corev1.Pod
		want policyMatch
	}{
		{"disruption is ignored", pod("a", "Failed", disrupted, exited("main", 42, t0)), policyMatch{action: "Ignore"}},
		{"exit 42 of main fails the job", pod("b", "Failed", exited("main", 42, t0)), policyMatch{
			failJob: "Container main for pod ns/b failed with exit code 42 matching FailJob rule at index 1", counts: true, action: "FailJob"}},
		{"exit 42 of another container is counted", pod("c", "Failed", exited("side", 42, t0)), policyMatch{counts: true, action: "Count"}},
		{"no rule matches", pod("d", "Failed", exited("main", 1, t0)), policyMatch{counts: true}},
		{"exit 0 matches nothing", pod("e", "Failed", exited("main", 0, t0)), policyMatch{counts: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := matchPodFailurePolicy(pfp, tt.pod)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := matchPodFailurePolicy(nil, pod("f", "Failed")); got != (policyMatch{counts: true}) {
		t.Errorf("no policy: got %+v", got)
	}
}

func TestIntervals(t *testing.T) {
	oi := parseIntervals("0,2-4,9,x,7-6,12", 10)
	if got := oi.String(); got != "0,2-4,9" {
		t.Fatalf("parse: got %q, want 0,2-4,9", got)
	}
	oi = oi.with([]int{1, 5, 8})
	if got, n := oi.String(), oi.total(); got != "0-5,8-9" || n != 8 {
		t.Errorf("with: got %q (%d), want 0-5,8-9 (8)", got, n)
	}
	for ix, want := range map[int]bool{0: true, 5: true, 6: false, 8: true, 10: false} {
		if oi.has(ix) != want {
			t.Errorf("has(%d) = %v", ix, !want)
		}
	}
	if got := oi.overlap(parseIntervals("4-8", 10)); got != 3 {
		t.Errorf("overlap with 4-8: %d, want 3", got)
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		failures int32
		elapsed  time.Duration
		want     time.Duration
	}{
		{0, 0, 0}, {1, 0, 10 * time.Second}, {1, 4 * time.Second, 6 * time.Second}, {2, 0, 20 * time.Second},
		{3, 0, 40 * time.Second}, {20, 0, 10 * time.Minute}, {2, time.Minute, 0},
	} {
		if got := backoffRemaining(t0.Add(tt.elapsed), tt.failures, t0); got != tt.want {
			t.Errorf("%d failures, %v since: got %v, want %v", tt.failures, tt.elapsed, got, tt.want)
		}
	}
	// A success resets the count to the failures that came after it.
	r := backoffRecord{failuresAfterLastSuccess: 3, lastFailure: t0}
	r = r.next([]*corev1.Pod{pod("s", "Succeeded", exited("c", 0, t0.Add(time.Minute)))},
		[]*corev1.Pod{pod("f1", "Failed", exited("c", 1, t0.Add(30*time.Second))), pod("f2", "Failed", exited("c", 1, t0.Add(2*time.Minute)))})
	if r.failuresAfterLastSuccess != 1 || !r.lastFailure.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after a success: %+v", r)
	}
	r = r.next(nil, []*corev1.Pod{pod("f3", "Failed", exited("c", 1, t0.Add(3*time.Minute)))})
	if r.failuresAfterLastSuccess != 2 || !r.lastFailure.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("after another failure: %+v", r)
	}
}

func job(mods ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{Metadata: &metav1.ObjectMeta{Name: "j", Namespace: "ns", Uid: "job-uid"},
		Spec: &batchv1.JobSpec{Completions: proto.Int32(3), Parallelism: proto.Int32(2), BackoffLimit: proto.Int32(2),
			CompletionMode: proto.String("NonIndexed"), PodReplacementPolicy: proto.String("TerminatingOrFailed"),
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"job-name": "j"}},
				Spec: &corev1.PodSpec{RestartPolicy: proto.String("Never"), Containers: []*corev1.Container{{Name: "c", Image: "img"}}}}},
		Status: &batchv1.JobStatus{UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{}}}
	for _, m := range mods {
		m(j)
	}
	return j
}

func indexed(j *batchv1.Job) { j.Spec.CompletionMode = proto.String("Indexed") }

func TestNewPod(t *testing.T) {
	p := NewPod(job(indexed), 2, nil)
	m := p.GetMetadata()
	if m.GetGenerateName() != "j-2-" || p.GetSpec().GetHostname() != "j-2" {
		t.Errorf("generateName %q, hostname %q", m.GetGenerateName(), p.GetSpec().GetHostname())
	}
	if m.GetAnnotations()[CompletionIndexAnnotation] != "2" || m.GetLabels()[CompletionIndexAnnotation] != "2" || m.GetLabels()["job-name"] != "j" {
		t.Errorf("annotations %v, labels %v", m.GetAnnotations(), m.GetLabels())
	}
	if !slices.Contains(m.GetFinalizers(), TrackingFinalizer) {
		t.Errorf("finalizers %v", m.GetFinalizers())
	}
	ref := m.GetOwnerReferences()[0]
	if ref.GetKind() != "Job" || ref.GetApiVersion() != "batch/v1" || !ref.GetController() || !ref.GetBlockOwnerDeletion() || ref.GetUid() != "job-uid" {
		t.Errorf("owner %v", ref)
	}
	env := p.GetSpec().GetContainers()[0].GetEnv()
	if len(env) != 1 || env[0].GetName() != "JOB_COMPLETION_INDEX" ||
		env[0].GetValueFrom().GetFieldRef().GetFieldPath() != "metadata.labels['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env %v", env)
	}
	if p := NewPod(job(), noIndex, nil); p.GetMetadata().GetGenerateName() != "j-" || p.GetSpec().Hostname != nil || len(p.GetSpec().GetContainers()[0].GetEnv()) != 0 {
		t.Errorf("NonIndexed pod: %v", p)
	}
	long := job(indexed, func(j *batchv1.Job) { j.Metadata.Name = "a-very-long-job-name-that-goes-on-and-on-for-quite-a-while-x" })
	if g := NewPod(long, 12, nil).GetMetadata().GetGenerateName(); len(g) != maxGeneratedNameLength || g[len(g)-4:] != "-12-" {
		t.Errorf("long generateName %q", g)
	}
}

func TestPodsForRemoval(t *testing.T) {
	j := job(indexed)
	pods := []*corev1.Pod{pod("a", "Running", index("0")), pod("b", "Pending", index("0")), pod("c", "Running", index("7")),
		pod("d", "Running"), pod("e", "Running", index("1"))}
	var names []string
	for _, p := range podsForRemoval(j, pods, 0) {
		names = append(names, p.GetMetadata().GetName())
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"b", "c", "d"}) {
		t.Errorf("removed %v, want the duplicate, the out-of-range and the index-less pods", names)
	}
}

func TestFirstPendingIndexes(t *testing.T) {
	j := job(indexed, func(j *batchv1.Job) { j.Spec.Completions = proto.Int32(6) })
	s := &syncState{job: j, active: []*corev1.Pod{pod("a", "Running", index("1"))}, succeededIdx: parseIntervals("0,3", 6)}
	if got := s.firstPendingIndexes(2, 6); !slices.Equal(got, []int{2, 4}) {
		t.Errorf("got %v, want [2 4]", got)
	}
	failed := parseIntervals("2", 6)
	s.failedIdx = &failed
	if got := s.firstPendingIndexes(5, 6); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("with index 2 failed: got %v, want [4 5]", got)
	}
}

func TestMatchSuccessPolicy(t *testing.T) {
	sp := &batchv1.SuccessPolicy{Rules: []*batchv1.SuccessPolicyRule{
		{SucceededIndexes: proto.String("0-2"), SucceededCount: proto.Int32(2)},
		{SucceededCount: proto.Int32(4)},
	}}
	for _, tt := range []struct {
		succeeded string
		want      string
	}{{"0", ""}, {"0,2", "Matched rules at index 0"}, {"3-6", "Matched rules at index 1"}, {"", ""}} {
		msg, ok := matchSuccessPolicy(sp, 10, parseIntervals(tt.succeeded, 10))
		if msg != tt.want || ok != (tt.want != "") {
			t.Errorf("%q: got %q %v, want %q", tt.succeeded, msg, ok, tt.want)
		}
	}
}

// decide runs one sync's decision about the Job's end.
func decide(j *batchv1.Job, pods []*corev1.Pod, now time.Time) *syncState {
	s := &syncState{job: j, pods: pods, uncountedSucceeded: map[string]bool{}, uncountedFailed: map[string]bool{}, expectedRm: map[string]bool{}}
	for _, p := range pods {
		if isActive(p) {
			s.active = append(s.active, p)
		}
	}
	succeeded, failed := s.newFinishedPods()
	s.succeeded = j.Status.GetSucceeded() + int32(len(succeeded))
	s.failed = j.Status.GetFailed() + int32(s.countedFailures(failed))
	(&Controller{}).decideEnd(s, now)
	return s
}

func TestDecideEnd(t *testing.T) {
	failJob := func(j *batchv1.Job) {
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []*batchv1.PodFailurePolicyRule{{Action: "FailJob",
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: "In", Values: []int32{42}}}}}
	}
	started := func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = proto.Int64(30)
		j.Status.StartTime = timestamppb.New(t0)
	}
	for _, tt := range []struct {
		name                 string
		job                  *batchv1.Job
		pods                 []*corev1.Pod
		now                  time.Time
		cond, reason, prefix string
		requeue              time.Duration
	}{
		{"running", job(), []*corev1.Pod{pod("a", "Running")}, t0, "", "", "", 0},
		{"backoff limit", job(func(j *batchv1.Job) { j.Status.Failed = 2 }), []*corev1.Pod{pod("a", "Failed", exited("c", 1, t0))}, t0,
			"FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", 0},
		{"at the limit", job(func(j *batchv1.Job) { j.Status.Failed = 1 }), []*corev1.Pod{pod("a", "Failed", exited("c", 1, t0))}, t0, "", "", "", 0},
		{"FailJob rule", job(failJob), []*corev1.Pod{pod("a", "Failed", exited("c", 42, t0))}, t0,
			"FailureTarget", "PodFailurePolicy", "Container c for pod ns/a failed with exit code 42 matching FailJob rule at index 0", 0},
		{"deadline passed", job(started), nil, t0.Add(31 * time.Second), "FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline", 0},
		{"deadline ahead", job(started), nil, t0.Add(10 * time.Second), "", "", "", 20 * time.Second},
		{"earlier FailureTarget", job(func(j *batchv1.Job) {
			j.Status.Conditions = []*batchv1.JobCondition{newCondition("FailureTarget", "True", "DeadlineExceeded", "m", t0)}
		}), nil, t0, "Failed", "DeadlineExceeded", "m", 0},
		{"restarts past the limit with OnFailure", job(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = proto.String("OnFailure") }),
			[]*corev1.Pod{pod("a", "Running", func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []*corev1.ContainerStatus{{Name: "c", RestartCount: 2}}
			})}, t0, "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", 0},
		{"failed indexes", job(indexed, func(j *batchv1.Job) {
			j.Spec.BackoffLimitPerIndex = proto.Int32(0)
			j.Spec.Completions = proto.Int32(2)
			j.Status.CompletedIndexes = "1"
		}), []*corev1.Pod{pod("a", "Failed", index("0"))}, t0, "FailureTarget", "FailedIndexes", "Job has failed indexes", 0},
		{"max failed indexes", job(indexed, func(j *batchv1.Job) {
			j.Spec.BackoffLimitPerIndex = proto.Int32(0)
			j.Spec.MaxFailedIndexes = proto.Int32(0)
		}), []*corev1.Pod{pod("a", "Failed", index("0"))}, t0, "FailureTarget", "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes", 0},
		{"success policy", job(indexed, func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []*batchv1.SuccessPolicyRule{{SucceededIndexes: proto.String("1")}}}
		}), []*corev1.Pod{pod("a", "Succeeded", index("1"))}, t0, "SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 0", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := decide(tt.job, tt.pods, tt.now)
			c := s.finishedCond
			if c.GetType() != tt.cond || c.GetReason() != tt.reason || c.GetMessage() != tt.prefix {
				t.Errorf("got %v, want %s %s %q", c, tt.cond, tt.reason, tt.prefix)
			}
			if s.requeue != tt.requeue {
				t.Errorf("requeue %v, want %v", s.requeue, tt.requeue)
			}
		})
	}
}

// A finished pod is counted once: listed as uncounted, then counted when
// its finalizer is gone, never again.
func TestCountUncounted(t *testing.T) {
	st := &batchv1.JobStatus{Succeeded: 1, Failed: 1, UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{
		Succeeded: []string{"s1", "s2"}, Failed: []string{"f1"}}}
	if !countUncounted(st, map[string]bool{"s2": true}) {
		t.Fatal("nothing counted")
	}
	u := st.GetUncountedTerminatedPods()
	if st.GetSucceeded() != 2 || st.GetFailed() != 2 || !slices.Equal(u.GetSucceeded(), []string{"s2"}) || len(u.GetFailed()) != 0 {
		t.Errorf("status %v", st)
	}
	if countUncounted(st, map[string]bool{"s2": true}) {
		t.Error("counted again")
	}
}

func TestIsFailed(t *testing.T) {
	gone := func(p *corev1.Pod) { p.Metadata.DeletionTimestamp = timestamppb.New(t0) }
	j := job()
	if !isFailed(pod("a", "Running", gone), j) {
		t.Error("a deleted running pod counts as failed when terminating pods are replaced")
	}
	j.Spec.PodReplacementPolicy = proto.String("Failed")
	if isFailed(pod("a", "Running", gone), j) || !isFailed(pod("b", "Failed"), j) {
		t.Error("with podReplacementPolicy Failed only failed pods are")
	}
}
