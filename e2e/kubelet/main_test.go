// Package kubelet tests the kubelet end to end: real containerd, runc and
// CNI, the real apiserver, scheduler and controller-manager, driven with
// kubectl and the Go client.
package kubelet

import (
	"os"
	"os/exec"
	"testing"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// cluster is a control plane with one kubelet on a private containerd.
type cluster struct {
	srv *framework.APIServer
	ctd *framework.Containerd
}

// needRuntime skips the test where containerd, runc or the CNI plugins are
// missing, or without root.
func needRuntime(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: needs containerd")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for containerd")
	}
	for _, p := range []string{"/usr/bin/containerd", "/usr/lib/cni/bridge"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs %s (apt install containerd runc containernetworking-plugins)", p)
		}
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("needs runc")
	}
}

// startCluster starts containerd and the control plane; cmFlags go to the
// controller-manager.
func startCluster(t *testing.T, cmFlags ...string) *cluster {
	t.Helper()
	needRuntime(t)
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
