package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// rcWeb has no selector and no labels: both default to the template's.
const rcWeb = `apiVersion: v1
kind: ReplicationController
metadata:
  name: web
  namespace: default
spec:
  replicas: 3
  template:
    metadata:
      labels: {app: rc-web}
    spec:
      containers:
      - name: c
        image: registry.local/app:1
`

func (e *env) kubectl(stdin string, args ...string) string {
	e.t.Helper()
	out, err := framework.Kubectl(e.t, e.srv.Kubeconfig(), stdin, args...)
	if err != nil {
		e.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *env) waitRCStatus(name string, check func(*corev1.ReplicationControllerStatus) bool) {
	e.t.Helper()
	framework.Eventually(e.t, 60*time.Second, "replicationcontroller "+name+" status", func() error {
		rc, err := e.c.CoreV1().ReplicationControllers("default").Get(e.ctx, name)
		if err != nil {
			return err
		}
		if !check(rc.GetStatus()) {
			return fmt.Errorf("status %v", rc.GetStatus())
		}
		return nil
	})
}

// TestReplicationControllerKeepsItsPods: a core/v1 ReplicationController
// adopts a matching orphan, keeps its replicas through the scale
// subresource and kubectl scale, releases a pod that stops matching,
// counts ready pods, and shows in kubectl get and describe as in
// Kubernetes.
func TestReplicationControllerKeepsItsPods(t *testing.T) {
	e := setup(t)
	orphan := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "orphan", Namespace: "default", Labels: map[string]string{"app": "rc-web"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}
	if _, err := e.c.CoreV1().Pods("default").Create(e.ctx, orphan, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.kubectl(rcWeb, "create", "-f", "-")
	rc, err := e.c.CoreV1().ReplicationControllers("default").Get(e.ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if sel, l := rc.GetSpec().GetSelector(), rc.GetMetadata().GetLabels(); sel["app"] != "rc-web" || len(sel) != 1 || l["app"] != "rc-web" {
		t.Fatalf("selector %v, labels %v: want both defaulted to app=rc-web", sel, l)
	}
	uid := rc.GetMetadata().GetUid()
	pods := e.waitOwned(uid, 3)
	adopted := false
	for _, p := range pods {
		adopted = adopted || p.GetMetadata().GetName() == "orphan"
		ref := p.GetMetadata().GetOwnerReferences()[0]
		if ref.GetKind() != "ReplicationController" || ref.GetApiVersion() != "v1" || ref.GetName() != "web" {
			t.Errorf("pod %s owner %v, want v1 ReplicationController web", p.GetMetadata().GetName(), ref)
		}
		if p.GetMetadata().GetName() != "orphan" && p.GetMetadata().GetGenerateName() != "web-" {
			t.Errorf("pod %s was not named after its replication controller", p.GetMetadata().GetName())
		}
	}
	if !adopted {
		t.Fatal("the matching orphan was not adopted")
	}
	e.waitRCStatus("web", func(s *corev1.ReplicationControllerStatus) bool {
		return s.GetReplicas() == 3 && s.GetFullyLabeledReplicas() == 3 && s.GetObservedGeneration() == rc.GetMetadata().GetGeneration()
	})

	// The scale subresource shows the map selector as a selector string.
	scale, err := e.c.CoreV1().ReplicationControllers("default").GetScale(e.ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if scale.GetStatus().GetSelector() != "app=rc-web" || scale.GetSpec().GetReplicas() != 3 || scale.GetStatus().GetReplicas() != 3 {
		t.Fatalf("scale %v, want selector app=rc-web and 3 replicas", scale)
	}
	scale.Spec.Replicas = 5
	if _, err := e.c.CoreV1().ReplicationControllers("default").UpdateScale(e.ctx, scale, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitOwned(uid, 5)
	if out := e.kubectl("", "get", "--raw", "/api/v1/namespaces/default/replicationcontrollers/web/scale"); !strings.Contains(out, `"selector":"app=rc-web"`) {
		t.Errorf("REST scale %s: want status.selector app=rc-web", out)
	}
	e.kubectl("", "scale", "rc", "web", "--replicas=2")
	pods = e.waitOwned(uid, 2)

	// A pod whose labels stop matching is released and replaced.
	leaving := pods[0]
	leaving.Metadata.Labels = map[string]string{"app": "debug"}
	if _, err := e.c.CoreV1().Pods("default").Update(e.ctx, leaving, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the relabelled pod is released and replaced", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, leaving.GetMetadata().GetName())
		if err != nil {
			return err
		}
		if len(p.GetMetadata().GetOwnerReferences()) != 0 {
			return fmt.Errorf("still owned: %v", p.GetMetadata().GetOwnerReferences())
		}
		if got := len(e.owned(uid)); got != 2 {
			return fmt.Errorf("%d owned", got)
		}
		return nil
	})

	// Ready pods are counted.
	for _, p := range e.waitOwned(uid, 2) {
		p.Status.Phase = "Running"
		p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.Now()}}
		if _, err := e.c.CoreV1().Pods("default").UpdateStatus(e.ctx, p, client.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitRCStatus("web", func(s *corev1.ReplicationControllerStatus) bool {
		return s.GetReplicas() == 2 && s.GetReadyReplicas() == 2 && s.GetAvailableReplicas() == 2
	})

	out := e.kubectl("", "get", "rc", "web")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME DESIRED CURRENT READY AGE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "web 2 2 2 ") {
		t.Errorf("kubectl get rc:\n%s", out)
	}
	out = e.kubectl("", "get", "rc", "web", "-o", "wide")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 ||
		strings.Join(strings.Fields(lines[0]), " ") != "NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR" ||
		!strings.HasSuffix(strings.Join(strings.Fields(lines[1]), " "), "c registry.local/app:1 app=rc-web") {
		t.Errorf("kubectl get rc -o wide:\n%s", out)
	}
	if out := e.kubectl("", "get", "all"); !strings.Contains(out, "replicationcontroller/web") {
		t.Errorf("kubectl get all does not list the replication controller:\n%s", out)
	}
	framework.Eventually(t, 30*time.Second, "kubectl describe rc shows the replicas and events", func() error {
		out := strings.Join(strings.Fields(e.kubectl("", "describe", "rc", "web")), " ")
		for _, want := range []string{"Selector: app=rc-web", "Replicas: 2 current / 2 desired", "SuccessfulCreate",
			"SuccessfulDelete", "replication-controller"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("no %q in:\n%s", want, out)
			}
		}
		return nil
	})

	// Deleted, its pods go with it (the garbage collector).
	e.kubectl("", "delete", "rc", "web")
	framework.Eventually(t, 60*time.Second, "the pods are deleted", func() error {
		if got := len(e.owned(uid)); got != 0 {
			return fmt.Errorf("%d owned", got)
		}
		return nil
	})
}

// TestReplicationControllerFailureAndOrphans: a pod creation that a quota
// refuses sets ReplicaFailure (reason FailedCreate) and records a
// FailedCreate event; once the quota is gone the condition goes. A core/v1
// delete without a propagation policy orphans the pods, as in Kubernetes.
func TestReplicationControllerFailureAndOrphans(t *testing.T) {
	e := setup(t)
	quota := &corev1.ResourceQuota{Metadata: &metav1.ObjectMeta{Name: "pods", Namespace: "default"},
		Spec: &corev1.ResourceQuotaSpec{Hard: map[string]*metav1.Quantity{"pods": {String_: "2"}}}}
	quotas := client.For[*corev1.ResourceQuota, *corev1.ResourceQuotaList](e.c, "default")
	if _, err := quotas.Create(e.ctx, quota, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the quota is counted", func() error {
		q, err := quotas.Get(e.ctx, "pods")
		if err != nil {
			return err
		}
		if q.GetStatus().GetHard()["pods"] == nil {
			return fmt.Errorf("status %v", q.GetStatus())
		}
		return nil
	})
	replicas := int32(3)
	labels := map[string]string{"app": "capped"}
	rc := &corev1.ReplicationController{Metadata: &metav1.ObjectMeta{Name: "capped", Namespace: "default"},
		Spec: &corev1.ReplicationControllerSpec{Replicas: &replicas, Selector: labels,
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "registry.local/app:1"}}}}}}
	rcs := e.c.CoreV1().ReplicationControllers("default")
	created, err := rcs.Create(e.ctx, rc, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := created.GetMetadata().GetUid()
	e.waitOwned(uid, 2)
	e.waitRCStatus("capped", func(s *corev1.ReplicationControllerStatus) bool {
		for _, c := range s.GetConditions() {
			if c.GetType() == "ReplicaFailure" && c.GetStatus() == "True" && c.GetReason() == "FailedCreate" &&
				strings.Contains(c.GetMessage(), "exceeded quota") {
				return s.GetReplicas() == 2
			}
		}
		return false
	})
	framework.Eventually(t, 30*time.Second, "a FailedCreate event", func() error {
		out := e.kubectl("", "get", "events", "--field-selector", "involvedObject.name=capped,reason=FailedCreate",
			"-o", "jsonpath={.items[*].involvedObject.kind} {.items[*].source.component}")
		if !strings.Contains(out, "ReplicationController") || !strings.Contains(out, "replication-controller") {
			return fmt.Errorf("events: %q", out)
		}
		return nil
	})

	if _, err := quotas.Delete(e.ctx, "pods", nil); err != nil {
		t.Fatal(err)
	}
	e.waitOwned(uid, 3)
	e.waitRCStatus("capped", func(s *corev1.ReplicationControllerStatus) bool {
		return s.GetReplicas() == 3 && len(s.GetConditions()) == 0
	})

	// Deleted with no propagation policy: the pods stay, released.
	pods := e.owned(uid)
	if _, err := rcs.Delete(e.ctx, "capped", nil); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the replication controller is gone and its pods orphaned", func() error {
		if _, err := rcs.Get(e.ctx, "capped"); !client.IsNotFound(err) {
			return fmt.Errorf("still there: %v", err)
		}
		for _, p := range pods {
			got, err := e.c.CoreV1().Pods("default").Get(e.ctx, p.GetMetadata().GetName())
			if err != nil {
				return fmt.Errorf("pod %s: %w", p.GetMetadata().GetName(), err)
			}
			if len(got.GetMetadata().GetOwnerReferences()) != 0 || got.GetMetadata().GetDeletionTimestamp() != nil {
				return fmt.Errorf("pod %s: owners %v, deletion %v", p.GetMetadata().GetName(),
					got.GetMetadata().GetOwnerReferences(), got.GetMetadata().GetDeletionTimestamp())
			}
		}
		return nil
	})
}
