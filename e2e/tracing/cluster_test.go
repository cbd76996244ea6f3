package tracing

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// cluster is the control plane and one kubelet on a private containerd,
// every service exporting its spans to the same OTLP endpoint.
type cluster struct {
	srv *framework.APIServer
	c   *client.Client
}

// startCluster runs the apiserver, controller-manager, scheduler and a
// kubelet (node-a) exporting to otlpEndpoint. The services take the
// endpoint from $OTEL_EXPORTER_OTLP_ENDPOINT (pkg/component), which the
// framework's processes inherit.
func startCluster(t *testing.T, otlpEndpoint string) *cluster {
	t.Helper()
	framework.NeedRuntime(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+otlpEndpoint) // the URL form OpenTelemetry reads too
	ctd := framework.StartContainerd(t)
	srv := framework.StartAPIServer(t)
	framework.StartScheduler(t, srv)
	framework.StartControllerManager(t, srv)
	framework.StartKubelet(t, srv, ctd, "node-a")
	cl := &cluster{srv: srv, c: srv.Client()}
	framework.WaitNodeReady(t, cl.c, "node-a")
	return cl
}

// apply runs kubectl apply -f - with a manifest.
func (cl *cluster) apply(t *testing.T, manifest string) {
	t.Helper()
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// waitRunning waits until n pods with label app=name run.
func (cl *cluster) waitRunning(t *testing.T, name string, n int) []*corev1.Pod {
	t.Helper()
	var running []*corev1.Pod
	framework.Eventually(t, 120*time.Second, fmt.Sprintf("%d pods of %s running", n, name), func() error {
		list, err := cl.c.CoreV1().Pods("default").List(context.Background(), client.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			return err
		}
		running = nil
		for _, p := range list.GetItems() {
			if p.GetStatus().GetPhase() == "Running" {
				running = append(running, p)
			}
		}
		if len(running) != n || len(list.GetItems()) != n {
			return fmt.Errorf("%d of %d pods running (%d pods)", len(running), n, len(list.GetItems()))
		}
		return nil
	})
	return running
}

// deployment is a Deployment of the test server with two replicas.
func deployment(name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: server
        image: registry.skiff.local/testserver:1.0
        ports:
        - {name: http, containerPort: 8080}
`, name)
}
