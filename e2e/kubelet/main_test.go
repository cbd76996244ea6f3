// Package kubelet tests the kubelet end to end: real containerd, runc and
// CNI, the real apiserver, scheduler and controller-manager, driven with
// kubectl and the Go client.
package kubelet

import (
	"testing"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// cluster is a control plane with one kubelet on a private containerd.
type cluster struct {
	srv *framework.APIServer
	ctd *framework.Containerd
}

// startCluster starts containerd and the control plane; cmFlags go to the
// controller-manager.
func startCluster(t *testing.T, cmFlags ...string) *cluster {
	t.Helper()
	framework.NeedRuntime(t)
	ctd := framework.StartContainerd(t)
	srv := framework.StartAPIServer(t)
	framework.StartScheduler(t, srv)
	framework.StartControllerManager(t, srv, cmFlags...)
	return &cluster{srv: srv, ctd: ctd}
}

// apply runs kubectl apply -f - with a manifest.
func (cl *cluster) apply(t *testing.T, manifest string) {
	t.Helper()
	if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}
