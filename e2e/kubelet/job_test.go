package kubelet

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

const jobManifests = `apiVersion: batch/v1
kind: Job
metadata: {name: five}
spec:
  completions: 5
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [sleep, "0.5"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: indexed}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: registry.skiff.local/testserver:1.0
        command: [write, /dev/termination-log, "index=$(JOB_COMPLETION_INDEX)"]
---
apiVersion: batch/v1
kind: Job
metadata: {name: failing}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [exit, "3"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: policy}
spec:
  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes: {containerName: c, operator: In, values: [42]}
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [exit, "42"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: deadline}
spec:
  activeDeadlineSeconds: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [sleep, infinity]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: paused}
spec:
  suspend: true
  parallelism: 2
  completions: 4
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [sleep, infinity]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: forever}
spec:
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [sleep, infinity]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: shortlived}
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: "registry.skiff.local/testserver:1.0", command: [echo, done]}
`

// TestJobs runs Jobs on a real kubelet: five completions two at a time
// end with exactly five succeeded pods; an Indexed Job's pods each see
// their own index; a failing Job stops at its backoffLimit; a FailJob
// rule of a pod failure policy fails a Job at its first matching exit;
// a finished Job with a TTL is deleted with its pods; kubectl creates,
// waits for, lists and describes Jobs as it does with Kubernetes.
func TestJobs(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cl.apply(t, jobManifests)
	kubeconfig := cl.srv.Kubeconfig()

	t.Run("completions", func(t *testing.T) {
		maxActive := int32(0)
		j := waitJob(t, c, "five", "Complete", func(j *batchv1.Job) { maxActive = max(maxActive, j.GetStatus().GetActive()) })
		if st := j.GetStatus(); st.GetSucceeded() != 5 || st.GetFailed() != 0 || st.GetActive() != 0 {
			t.Fatalf("status: succeeded %d failed %d active %d, want 5, 0, 0", st.GetSucceeded(), st.GetFailed(), st.GetActive())
		}
		if maxActive > 2 {
			t.Errorf("active reached %d with parallelism 2", maxActive)
		}
		if c := condition(j, "SuccessCriteriaMet"); c.GetStatus() != "True" || c.GetReason() != "CompletionsReached" {
			t.Errorf("SuccessCriteriaMet condition: %v", c)
		}
		if c := condition(j, "Complete"); c.GetReason() != "CompletionsReached" || c.GetMessage() != "Reached expected number of succeeded pods" {
			t.Errorf("Complete condition: %v", c)
		}
		if j.GetStatus().GetCompletionTime() == nil || j.GetStatus().GetStartTime() == nil {
			t.Errorf("start %v, completion %v", j.GetStatus().GetStartTime(), j.GetStatus().GetCompletionTime())
		}
		pods := jobPods(t, c, "five")
		if len(pods) != 5 {
			t.Fatalf("%d pods, want 5", len(pods))
		}
		for _, p := range pods {
			if p.GetStatus().GetPhase() != "Succeeded" || slices.Contains(p.GetMetadata().GetFinalizers(), "batch.kubernetes.io/job-tracking") {
				t.Errorf("pod %s: phase %s, finalizers %v", p.GetMetadata().GetName(), p.GetStatus().GetPhase(), p.GetMetadata().GetFinalizers())
			}
		}
		out := kubectl(t, kubeconfig, "get", "job", "five")
		if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^five\s+Complete\s+5/5\s+\d+s\s+\d+s$`).MatchString(out) {
			t.Errorf("kubectl get job:\n%s", out)
		}
		out = kubectl(t, kubeconfig, "get", "job", "five", "-o", "wide")
		if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$`).MatchString(out) ||
			!strings.Contains(out, "registry.skiff.local/testserver:1.0   batch.kubernetes.io/controller-uid="+j.GetMetadata().GetUid()) {
			t.Errorf("kubectl get job -o wide:\n%s", out)
		}
		out = kubectl(t, kubeconfig, "describe", "job", "five")
		for _, want := range []string{`Parallelism:\s+2\n`, `Completions:\s+5\n`, `Completion Mode:\s+NonIndexed\n`,
			`Pods Statuses:\s+0 Active \(0 Ready\) / 5 Succeeded / 0 Failed\n`, `Normal\s+SuccessfulCreate\s+.*Created pod: five-`,
			`Normal\s+Completed\s+.*Job completed`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("kubectl describe job lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("indexed", func(t *testing.T) {
		j := waitJob(t, c, "indexed", "Complete", nil)
		if got := j.GetStatus().GetCompletedIndexes(); got != "0-2" {
			t.Errorf("completedIndexes %q, want 0-2", got)
		}
		pods := jobPods(t, c, "indexed")
		if len(pods) != 3 {
			t.Fatalf("%d pods, want 3", len(pods))
		}
		seen := map[string]bool{}
		for _, p := range pods {
			m := p.GetMetadata()
			ix := m.GetAnnotations()["batch.kubernetes.io/job-completion-index"]
			seen[ix] = true
			if m.GetLabels()["batch.kubernetes.io/job-completion-index"] != ix {
				t.Errorf("pod %s: label %q, annotation %q", m.GetName(), m.GetLabels()["batch.kubernetes.io/job-completion-index"], ix)
			}
			if !strings.HasPrefix(m.GetName(), "indexed-"+ix+"-") || p.GetSpec().GetHostname() != "indexed-"+ix {
				t.Errorf("pod %s: hostname %q for index %s", m.GetName(), p.GetSpec().GetHostname(), ix)
			}
			if msg := containerStatus(p).GetState().GetTerminated().GetMessage(); msg != "index="+ix {
				t.Errorf("pod %s (index %s) saw %q", m.GetName(), ix, msg)
			}
		}
		if len(seen) != 3 || !seen["0"] || !seen["1"] || !seen["2"] {
			t.Errorf("indexes %v, want 0, 1, 2", seen)
		}
	})

	t.Run("backoffLimit", func(t *testing.T) {
		j := waitJob(t, c, "failing", "Failed", nil)
		cond := condition(j, "Failed")
		if cond.GetReason() != "BackoffLimitExceeded" || cond.GetMessage() != "Job has reached the specified backoff limit" {
			t.Errorf("Failed condition: %v", cond)
		}
		if condition(j, "FailureTarget").GetReason() != "BackoffLimitExceeded" {
			t.Errorf("FailureTarget condition: %v", condition(j, "FailureTarget"))
		}
		if st := j.GetStatus(); st.GetFailed() != 2 || st.GetSucceeded() != 0 || st.GetActive() != 0 || st.GetCompletionTime() != nil {
			t.Errorf("status: failed %d succeeded %d active %d completionTime %v, want 2, 0, 0, none",
				st.GetFailed(), st.GetSucceeded(), st.GetActive(), st.GetCompletionTime())
		}
		if pods := jobPods(t, c, "failing"); len(pods) != 2 {
			t.Errorf("%d pods, want 2 (backoffLimit 1)", len(pods))
		}
		waitEvent(t, c, "failing", "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
		out := kubectl(t, kubeconfig, "get", "job", "failing")
		if !regexp.MustCompile(`(?m)^failing\s+Failed\s+0/1\s+\S+\s+\d+s$`).MatchString(out) {
			t.Errorf("kubectl get job:\n%s", out)
		}
	})

	t.Run("podFailurePolicy", func(t *testing.T) {
		j := waitJob(t, c, "policy", "Failed", nil)
		pods := jobPods(t, c, "policy")
		if len(pods) != 1 {
			t.Fatalf("%d pods, want 1: the first exit fails the job", len(pods))
		}
		want := fmt.Sprintf("Container c for pod default/%s failed with exit code 42 matching FailJob rule at index 0", pods[0].GetMetadata().GetName())
		if cond := condition(j, "Failed"); cond.GetReason() != "PodFailurePolicy" || cond.GetMessage() != want {
			t.Errorf("Failed condition: %v, want reason PodFailurePolicy, message %q", cond, want)
		}
		if j.GetStatus().GetFailed() != 1 {
			t.Errorf("failed %d, want 1", j.GetStatus().GetFailed())
		}
	})

	t.Run("activeDeadlineSeconds", func(t *testing.T) {
		j := waitJob(t, c, "deadline", "Failed", nil)
		if cond := condition(j, "Failed"); cond.GetReason() != "DeadlineExceeded" || cond.GetMessage() != "Job was active longer than specified deadline" {
			t.Errorf("Failed condition: %v", cond)
		}
		if st := j.GetStatus(); st.GetActive() != 0 || st.GetFailed() != 1 || st.GetTerminating() != 0 {
			t.Errorf("status: active %d failed %d terminating %d, want 0, 1, 0", st.GetActive(), st.GetFailed(), st.GetTerminating())
		}
	})

	t.Run("suspend", func(t *testing.T) {
		j := waitJob(t, c, "paused", "Suspended", nil)
		if cond := condition(j, "Suspended"); cond.GetReason() != "JobSuspended" || cond.GetMessage() != "Job suspended" || j.GetStatus().GetStartTime() != nil {
			t.Errorf("suspended: %v, startTime %v", cond, j.GetStatus().GetStartTime())
		}
		if pods := jobPods(t, c, "paused"); len(pods) != 0 {
			t.Fatalf("%d pods of a suspended job", len(pods))
		}
		kubectl(t, kubeconfig, "patch", "job", "paused", "-p", `{"spec":{"suspend":false}}`)
		framework.Eventually(t, 60*time.Second, "resumed job runs two pods", func() error {
			j, err := c.BatchV1().Jobs("default").Get(context.Background(), "paused")
			if err != nil {
				return err
			}
			if cond := condition(j, "Suspended"); cond.GetStatus() != "False" || cond.GetReason() != "JobResumed" || j.GetStatus().GetReady() != 2 {
				return fmt.Errorf("condition %v, ready %d", cond, j.GetStatus().GetReady())
			}
			return nil
		})
		kubectl(t, kubeconfig, "patch", "job", "paused", "-p", `{"spec":{"suspend":true}}`)
		framework.Eventually(t, 60*time.Second, "suspended job's pods gone", func() error {
			j, err := c.BatchV1().Jobs("default").Get(context.Background(), "paused")
			if err != nil {
				return err
			}
			if pods := jobPods(t, c, "paused"); len(pods) != 0 || j.GetStatus().GetActive() != 0 || condition(j, "Suspended").GetStatus() != "True" {
				return fmt.Errorf("%d pods, active %d, %v", len(pods), j.GetStatus().GetActive(), condition(j, "Suspended"))
			}
			return nil
		})
		if j, _ := c.BatchV1().Jobs("default").Get(context.Background(), "paused"); j.GetStatus().GetFailed() != 0 {
			t.Errorf("suspending counted %d failures", j.GetStatus().GetFailed())
		}
		out := kubectl(t, kubeconfig, "get", "job", "paused")
		if !regexp.MustCompile(`(?m)^paused\s+Suspended\s+0/4\s+`).MatchString(out) {
			t.Errorf("kubectl get job:\n%s", out)
		}
	})

	// Deleting a running Job deletes its pods, which the controller then
	// frees of their tracking finalizer although their Job is gone.
	t.Run("deleteRunning", func(t *testing.T) {
		framework.Eventually(t, 60*time.Second, "job forever runs two pods", func() error {
			j, err := c.BatchV1().Jobs("default").Get(context.Background(), "forever")
			if err != nil {
				return err
			}
			if j.GetStatus().GetReady() != 2 {
				return fmt.Errorf("ready %d", j.GetStatus().GetReady())
			}
			return nil
		})
		kubectl(t, kubeconfig, "delete", "job", "forever")
		framework.Eventually(t, 60*time.Second, "pods of the deleted job gone", func() error {
			if pods := jobPods(t, c, "forever"); len(pods) > 0 {
				return fmt.Errorf("%d pods left, finalizers %v", len(pods), pods[0].GetMetadata().GetFinalizers())
			}
			return nil
		})
	})

	t.Run("ttlAfterFinished", func(t *testing.T) {
		framework.Eventually(t, 90*time.Second, "job shortlived deleted", func() error {
			if _, err := c.BatchV1().Jobs("default").Get(context.Background(), "shortlived"); !client.IsNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			if pods := jobPods(t, c, "shortlived"); len(pods) > 0 {
				return fmt.Errorf("%d pods left", len(pods))
			}
			return nil
		})
	})

	t.Run("kubectl", func(t *testing.T) {
		kubectl(t, kubeconfig, "create", "job", "hello", "--image=registry.skiff.local/testserver:1.0", "--", "echo", "hello")
		out := kubectl(t, kubeconfig, "wait", "--for=condition=complete", "job/hello", "--timeout=90s")
		if !strings.Contains(out, "job.batch/hello condition met") {
			t.Errorf("kubectl wait: %s", out)
		}
		j, err := c.BatchV1().Jobs("default").Get(context.Background(), "hello")
		if err != nil {
			t.Fatal(err)
		}
		sp := j.GetSpec()
		if sp.GetBackoffLimit() != 6 || sp.GetCompletions() != 1 || sp.GetParallelism() != 1 || sp.GetCompletionMode() != "NonIndexed" ||
			sp.GetPodReplacementPolicy() != "TerminatingOrFailed" || sp.GetSuspend() || sp.GetManualSelector() {
			t.Errorf("defaults: %v", sp)
		}
		tl := sp.GetTemplate().GetMetadata().GetLabels()
		uid := j.GetMetadata().GetUid()
		if tl["batch.kubernetes.io/controller-uid"] != uid || tl["controller-uid"] != uid || tl["batch.kubernetes.io/job-name"] != "hello" || tl["job-name"] != "hello" {
			t.Errorf("template labels %v", tl)
		}
		out = kubectl(t, kubeconfig, "get", "all")
		if !strings.Contains(out, "job.batch/hello") {
			t.Errorf("kubectl get all lacks the job:\n%s", out)
		}
		// The template may not change.
		out, err = framework.Kubectl(t, kubeconfig, "", "patch", "job", "hello", "-p", `{"spec":{"template":{"spec":{"activeDeadlineSeconds":5}}}}`)
		if err == nil || !strings.Contains(out, "spec.template: Invalid value") || !strings.Contains(out, "field is immutable") {
			t.Errorf("patching the template: %v\n%s", err, out)
		}
	})
}

func kubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := framework.Kubectl(t, kubeconfig, "", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitJob waits for the Job's condition to be True, telling each look to
// seen (when set).
func waitJob(t *testing.T, c *client.Client, name, cond string, seen func(*batchv1.Job)) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	framework.Eventually(t, 120*time.Second, "job "+name+" "+cond, func() error {
		var err error
		if j, err = c.BatchV1().Jobs("default").Get(context.Background(), name); err != nil {
			return err
		}
		if seen != nil {
			seen(j)
		}
		if condition(j, cond).GetStatus() != "True" {
			return fmt.Errorf("status %v", j.GetStatus())
		}
		return nil
	})
	return j
}

func condition(j *batchv1.Job, t string) *batchv1.JobCondition {
	for _, c := range j.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

func jobPods(t *testing.T, c *client.Client, job string) []*corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods("default").List(context.Background(), client.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
	if err != nil {
		t.Fatalf("list pods of job %s: %v", job, err)
	}
	return list.GetItems()
}

func waitEvent(t *testing.T, c *client.Client, object, typ, reason, message string) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "event "+reason+" on "+object, func() error {
		list, err := c.CoreV1().Events("default").List(context.Background(), client.ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range list.GetItems() {
			if e.GetInvolvedObject().GetName() == object && e.GetInvolvedObject().GetKind() == "Job" &&
				e.GetType() == typ && e.GetReason() == reason && e.GetMessage() == message {
				return nil
			}
		}
		return fmt.Errorf("not among %d events", len(list.GetItems()))
	})
}
