package clientgo

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// TestPodTemplates: core/v1 PodTemplates through client-go, in JSON and
// protobuf, as the conformance suite's PodTemplates specs use them: the
// API operations, the pod template's defaults and validation, and a
// generation that counts template changes only.
func TestPodTemplates(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "pt-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) }()
		templates := cs.CoreV1().PodTemplates(ns.Name)
		fresh := func(name string) *corev1.PodTemplate {
			return &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"podtemplate-set": "true"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.skiff.local/testserver:1.0"}}}}}
		}
		lifecycle(ctx, t, templates, "podtemplate-set=true", "pt", fresh)

		// Across namespaces, as the lifecycle spec lists them.
		if _, err := cs.CoreV1().PodTemplates("").List(ctx, metav1.ListOptions{LabelSelector: "podtemplate-set=true"}); err != nil {
			t.Errorf("list every namespace's pod templates: %v", err)
		}

		made, err := templates.Create(ctx, fresh("defaults"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sp := made.Template.Spec
		if sp.RestartPolicy != corev1.RestartPolicyAlways || sp.DNSPolicy != corev1.DNSClusterFirst ||
			sp.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent || sp.Containers[0].TerminationMessagePath != "/dev/termination-log" {
			t.Errorf("template defaults: got restartPolicy %q, dnsPolicy %q, imagePullPolicy %q, terminationMessagePath %q; want Always, ClusterFirst, IfNotPresent, /dev/termination-log",
				sp.RestartPolicy, sp.DNSPolicy, sp.Containers[0].ImagePullPolicy, sp.Containers[0].TerminationMessagePath)
		}
		// A template of its own may restart OnFailure, unlike a ReplicaSet's.
		onFailure := fresh("on-failure")
		onFailure.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		if _, err := templates.Create(ctx, onFailure, metav1.CreateOptions{}); err != nil {
			t.Errorf("a template that restarts OnFailure: %v", err)
		}

		noImage := fresh("no-image")
		noImage.Template.Spec.Containers[0].Image = ""
		if _, err := templates.Create(ctx, noImage, metav1.CreateOptions{}); !hasCause(err, "template.spec.containers[0].image") {
			t.Errorf("a container without an image: got %v, want Invalid on template.spec.containers[0].image", err)
		}
		badLabel := fresh("bad-label")
		badLabel.Template.Labels = map[string]string{"app": "no spaces"}
		if _, err := templates.Create(ctx, badLabel, metav1.CreateOptions{}); !hasCause(err, "template.labels") {
			t.Errorf("a template label that is no label value: got %v, want Invalid on template.labels", err)
		}

		relabelled, err := templates.Patch(ctx, made.Name, types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if relabelled.Generation != made.Generation {
			t.Errorf("a label change: generation %d, want %d", relabelled.Generation, made.Generation)
		}
		reimaged, err := templates.Patch(ctx, made.Name, types.StrategicMergePatchType,
			[]byte(`{"template":{"spec":{"containers":[{"name":"web","image":"registry.skiff.local/testserver:2.0"}]}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if reimaged.Generation != made.Generation+1 || reimaged.Template.Spec.Containers[0].Image != "registry.skiff.local/testserver:2.0" {
			t.Errorf("a template change: got generation %d, image %q; want %d and the new image", reimaged.Generation,
				reimaged.Template.Spec.Containers[0].Image, made.Generation+1)
		}
	})
}
