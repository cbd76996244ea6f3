package clientgo

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

// TestRuntimeClassAdmission: a new pod is admitted against its
// RuntimeClass as Kubernetes' RuntimeClass admission plugin does — 403
// for a class that does not exist (or no longer does), the class's
// overhead set into the pod, its node selector and tolerations merged
// into the pod's, and a pod that disagrees with its class refused — in
// JSON and protobuf, and as kubectl reports it.
func TestRuntimeClassAdmission(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rca-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) }()
		pods, rcs := cs.CoreV1().Pods(ns.Name), cs.NodeV1().RuntimeClasses()
		class := func(name string, change func(*nodev1.RuntimeClass)) string {
			t.Helper()
			rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: ns.Name + "-" + name}, Handler: "runc"}
			if change != nil {
				change(rc)
			}
			if _, err := rcs.Create(ctx, rc, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create RuntimeClass %s: %v", rc.Name, err)
			}
			t.Cleanup(func() { _ = rcs.Delete(context.Background(), rc.Name, metav1.DeleteOptions{}) })
			return rc.Name
		}
		pod := func(name, class string, change func(*corev1.PodSpec)) *corev1.Pod {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{RuntimeClassName: &class,
				Containers: []corev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0"}}}}
			if change != nil {
				change(&p.Spec)
			}
			return p
		}
		refused := func(p *corev1.Pod, want string) {
			t.Helper()
			_, err := pods.Create(ctx, p, metav1.CreateOptions{})
			if !apierrors.IsForbidden(err) || err.Error() != want {
				t.Errorf("create pod %s: got %v, want Forbidden %q", p.Name, err, want)
			}
		}

		missing := ns.Name + "-nonexistent"
		refused(pod("missing", missing, nil), `pods "missing" is forbidden: pod rejected: RuntimeClass "`+missing+`" not found`)
		// With generateName the refusal names the prefix, as Kubernetes'
		// admission sees the pod before its name is made.
		generated := pod("", missing, nil)
		generated.GenerateName = "gen-"
		refused(generated, `pods "gen-" is forbidden: pod rejected: RuntimeClass "`+missing+`" not found`)

		deleted := class("delete-me", nil)
		if err := rcs.Delete(ctx, deleted, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		refused(pod("deleted", deleted, nil), `pods "deleted" is forbidden: pod rejected: RuntimeClass "`+deleted+`" not found`)

		plain := class("plain", nil)
		made, err := pods.Create(ctx, pod("plain", plain, nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a pod of a class without overhead: %v", err)
		}
		if len(made.Spec.Overhead) != 0 {
			t.Errorf("a pod of a class without overhead: got overhead %v, want none", made.Spec.Overhead)
		}

		fat := class("overhead", func(rc *nodev1.RuntimeClass) {
			rc.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("1Mi")}}
		})
		if _, err := pods.Create(ctx, pod("overhead", fat, nil), metav1.CreateOptions{}); err != nil {
			t.Fatalf("a pod of a class with overhead: %v", err)
		}
		got, err := pods.Get(ctx, "overhead", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// The conformance spec compares with gomega.Equal, field by field.
		if cpu, mem := got.Spec.Overhead[corev1.ResourceCPU], got.Spec.Overhead[corev1.ResourceMemory]; cpu != resource.MustParse("10m") || mem != resource.MustParse("1Mi") {
			t.Errorf("overhead set from the class: got %v, want cpu 10m, memory 1Mi", got.Spec.Overhead)
		}
		refused(pod("other-overhead", fat, func(s *corev1.PodSpec) { s.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")} }),
			`pods "other-overhead" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`)
		refused(pod("own-overhead", plain, func(s *corev1.PodSpec) { s.Overhead = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")} }),
			`pods "own-overhead" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead`)

		placed := class("placed", func(rc *nodev1.RuntimeClass) {
			rc.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox": "yes"},
				Tolerations: []corev1.Toleration{{Key: "sandbox", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}}
		})
		made, err = pods.Create(ctx, pod("placed", placed, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} }), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a pod of a class with scheduling: %v", err)
		}
		if want := map[string]string{"zone": "a", "sandbox": "yes"}; !maps.Equal(made.Spec.NodeSelector, want) {
			t.Errorf("node selector: got %v, want %v", made.Spec.NodeSelector, want)
		}
		found := false
		for _, tol := range made.Spec.Tolerations {
			found = found || (tol.Key == "sandbox" && tol.Effect == corev1.TaintEffectNoSchedule)
		}
		if !found {
			t.Errorf("tolerations: got %v, want the class's sandbox toleration added", made.Spec.Tolerations)
		}
		refused(pod("conflict", placed, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"sandbox": "no"} }),
			`pods "conflict" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = yes; pod.spec.nodeSelector[sandbox] = no`)
	})
}

// TestRuntimeClassAdmissionKubectl: kubectl shows the refusal as
// Kubernetes words it.
func TestRuntimeClassAdmissionKubectl(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	out, err := framework.Kubectl(t, srv.Kubeconfig(), `apiVersion: v1
kind: Pod
metadata: {name: sandboxed}
spec:
  runtimeClassName: nope
  containers: [{name: c, image: busybox}]
`, "apply", "-f", "-")
	if err == nil || !strings.Contains(out, `Error from server (Forbidden)`) || !strings.Contains(out, `pods "sandboxed" is forbidden: pod rejected: RuntimeClass "nope" not found`) {
		t.Errorf("kubectl apply of a pod of a missing RuntimeClass: got %v\n%s\nwant Forbidden: pod rejected: RuntimeClass \"nope\" not found", err, out)
	}
}
