// Package client tests pkg/client, the gRPC client every Skiff component
// uses, against a real apiserver process.
package client

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

func dial(t *testing.T, srv *framework.APIServer, withToken bool) *client.Client {
	t.Helper()
	cfg, err := client.FromKubeconfig(srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	if !withToken {
		cfg.Token = ""
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTypedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	c := dial(t, srv, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "grpc"}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := c.CoreV1().ConfigMaps("grpc")
	w, err := cms.Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	created, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Name: "one", Labels: map[string]string{"app": "x"}},
		Data: map[string]string{"k": "v"}}, client.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetMetadata().GetUid() == "" || created.GetMetadata().GetNamespace() != "grpc" {
		t.Fatalf("created %v", created.GetMetadata())
	}
	if _, err := cms.Create(ctx, created, client.WriteOptions{}); !client.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}

	got, err := cms.Get(ctx, "one")
	if err != nil || got.GetData()["k"] != "v" {
		t.Fatalf("get: %v %v", got, err)
	}
	list, err := cms.List(ctx, client.ListOptions{LabelSelector: "app=x"})
	if err != nil || len(list.GetItems()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := cms.Get(ctx, "nope"); !client.IsNotFound(err) {
		t.Fatalf("get missing: %v", err)
	}

	stale := proto.Clone(got).(*corev1.ConfigMap)
	got.Data["k"] = "v2"
	if _, err := cms.Update(ctx, got, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data["k"] = "lost"
	if _, err := cms.Update(ctx, stale, client.WriteOptions{}); !client.IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}

	_, err = c.CoreV1().Pods("grpc").Create(ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "bad"},
		Spec: &corev1.PodSpec{}}, client.WriteOptions{})
	if !client.IsInvalid(err) {
		t.Fatalf("invalid pod: %v", err)
	}
	if causes := err.(*client.StatusError).Status.GetDetails().GetCauses(); len(causes) == 0 || causes[0].GetField() != "spec.containers" {
		t.Fatalf("causes: %v", causes)
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("invalid pod: gRPC code %v, want InvalidArgument", status.Code(err))
	}
	if _, err := cms.Get(ctx, "nope"); status.Code(err) != codes.NotFound {
		t.Fatalf("get missing: gRPC code %v, want NotFound", status.Code(err))
	}
	// A create with generateName is named by the server.
	gen, err := cms.Create(ctx, &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{GenerateName: "gen-"}}, client.WriteOptions{})
	if err != nil || !strings.HasPrefix(gen.GetMetadata().GetName(), "gen-") {
		t.Fatalf("generateName create: %v %v", gen.GetMetadata(), err)
	}

	for _, want := range []string{client.Added, client.Modified} {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != want || ev.Object.GetMetadata().GetName() != "one" {
				t.Fatalf("watch: got %s %v, want %s", ev.Type, ev.Object.GetMetadata().GetName(), want)
			}
		case <-ctx.Done():
			t.Fatalf("watch: no %s event", want)
		}
	}

	// Subresources: binding and scale.
	pods := c.CoreV1().Pods("grpc")
	if _, err := pods.Create(ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, "p", "node-1", client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := pods.Get(ctx, "p"); err != nil || p.GetSpec().GetNodeName() != "node-1" {
		t.Fatalf("bound pod: %v %v", p.GetSpec().GetNodeName(), err)
	}
	deploys := c.AppsV1().Deployments("grpc")
	labels := map[string]string{"app": "web"}
	if _, err := deploys.Create(ctx, &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "web"}, Spec: &appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx:1.27"}}}},
	}}, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	scale, err := deploys.GetScale(ctx, "web")
	if err != nil || scale.GetSpec().GetReplicas() != 1 {
		t.Fatalf("scale: %v %v", scale, err)
	}
	scale.Spec.Replicas = 4
	if _, err := deploys.UpdateScale(ctx, scale, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	patched, err := deploys.Patch(ctx, "web", client.StrategicPatch,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}`), client.WriteOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if patched.GetSpec().GetReplicas() != 4 || patched.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage() != "nginx:1.28" {
		t.Fatalf("patched deployment: %v", patched.GetSpec())
	}

	if _, err := cms.Delete(ctx, "one", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "one"); !client.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}

// TestClientWithoutTokenIsRefused: a call without credentials is
// system:anonymous, whom RBAC allows nothing on the gRPC face; one with a
// forged token is Unauthenticated.
func TestClientWithoutTokenIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	c := dial(t, srv, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.CoreV1().Namespaces().List(ctx, client.ListOptions{})
	const want = `namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope`
	if !client.IsForbidden(err) || err.Error() != want {
		t.Fatalf("without a token: got %v, want Forbidden %q", err, want)
	}
	cfg, err := client.FromKubeconfig(srv.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token = "forged"
	forged, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	if _, err := forged.CoreV1().Namespaces().List(ctx, client.ListOptions{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("with a forged token: got %v, want Unauthenticated", err)
	}
}
