package framework

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"skiff.dev/pkg/client"
)

// NeedRuntime skips the test where StartContainerd cannot run: in -short
// mode, without root, or without containerd, runc and the CNI plugins
// (`make test` installs them as root).
func NeedRuntime(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: runs containerd")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run containerd")
	}
	for _, f := range []string{containerdBin, "/usr/bin/ctr", "/usr/sbin/runc", cniBinDir + "/bridge", cniBinDir + "/host-local"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("containerd, runc and the CNI plugins are not installed (apt-get install containerd runc containernetworking-plugins): %v", err)
		}
	}
}

// WaitNodeReady waits until the Node name reports Ready.
func WaitNodeReady(t testing.TB, c *client.Client, name string) {
	t.Helper()
	Eventually(t, 60*time.Second, "node "+name+" Ready", func() error {
		n, err := c.CoreV1().Nodes().Get(context.Background(), name)
		if err != nil {
			return err
		}
		for _, cond := range n.GetStatus().GetConditions() {
			if cond.GetType() == "Ready" && cond.GetStatus() == "True" {
				return nil
			}
		}
		return fmt.Errorf("conditions %v", n.GetStatus().GetConditions())
	})
}
