package clientgo

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestRuntimeClasses: node.k8s.io/v1 RuntimeClasses through client-go, in
// JSON and protobuf, as the conformance suite's "RuntimeClasses API
// operations" spec uses them: discovery, the API operations, overhead and
// scheduling kept as written, and Kubernetes' validation (a DNS-label
// handler that never changes).
func TestRuntimeClasses(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		resources, err := cs.Discovery().ServerResourcesForGroupVersion("node.k8s.io/v1")
		if err != nil {
			t.Fatalf("discovery of node.k8s.io/v1: %v", err)
		}
		found := false
		for _, r := range resources.APIResources {
			found = found || (r.Name == "runtimeclasses" && !r.Namespaced && r.Kind == "RuntimeClass")
		}
		if !found {
			t.Errorf("node.k8s.io/v1 resources: got %v, want cluster-scoped runtimeclasses", resources.APIResources)
		}

		rcs := cs.NodeV1().RuntimeClasses()
		// Both content types use one server, one after the other; each
		// run deletes what it made.
		const prefix = "rc"
		fresh := func(name string) *nodev1.RuntimeClass {
			return &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": prefix}}, Handler: name + "-handler"}
		}
		lifecycle(ctx, t, rcs, "test="+prefix, prefix, fresh)

		full := fresh(prefix + "-full")
		full.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("1Mi")}}
		full.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox": "yes"},
			Tolerations: []corev1.Toleration{{Key: "sandbox", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}}
		made, err := rcs.Create(ctx, full, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = rcs.Delete(context.Background(), made.Name, metav1.DeleteOptions{}) }()
		got, err := rcs.Get(ctx, made.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cpu := got.Overhead.PodFixed[corev1.ResourceCPU]; !cpu.Equal(resource.MustParse("10m")) || got.Scheduling.NodeSelector["sandbox"] != "yes" ||
			len(got.Scheduling.Tolerations) != 1 || got.Namespace != "" {
			t.Errorf("read back: got overhead %v, scheduling %+v, namespace %q", got.Overhead, got.Scheduling, got.Namespace)
		}
		got.Handler = "other"
		if _, err := rcs.Update(ctx, got, metav1.UpdateOptions{}); !hasCause(err, "handler") {
			t.Errorf("change the handler: got %v, want Invalid on handler (immutable)", err)
		}
		bad := fresh(prefix + "-bad")
		bad.Handler = "Not_A_Label"
		if _, err := rcs.Create(ctx, bad, metav1.CreateOptions{}); !hasCause(err, "handler") {
			t.Errorf("a handler that is no DNS label: got %v, want Invalid on handler", err)
		}
		bad.Handler = "fine"
		bad.Overhead = &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}}
		if _, err := rcs.Create(ctx, bad, metav1.CreateOptions{}); !hasCause(err, "overhead.limits[cpu]") {
			t.Errorf("a negative overhead: got %v, want Invalid on overhead.limits[cpu]", err)
		}
	})
}
