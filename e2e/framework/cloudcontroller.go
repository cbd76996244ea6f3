package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	cloudOnce sync.Once
	cloudErr  error
)

// cloudBinaries builds the cloud-controller and the local provider plugin
// (cloud-provider-local) next to the other binaries, once per test binary.
func cloudBinaries(t testing.TB) string {
	t.Helper()
	dir := filepath.Dir(Binary(t, "apiserver"))
	cloudOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", dir+"/",
			"skiff.dev/services/cloud-controller/cmd/cloud-controller",
			"skiff.dev/services/cloud-controller/cmd/cloud-provider-local")
		cmd.Dir = moduleDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			cloudErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cloudErr != nil {
		t.Fatalf("build the cloud-controller: %v", cloudErr)
	}
	return dir
}

// CloudProviderLocal is the path of the local provider's plugin program.
func CloudProviderLocal(t testing.TB) string {
	t.Helper()
	return filepath.Join(cloudBinaries(t), "cloud-provider-local")
}

// StartCloudController runs a cloud-controller against srv with extra
// flags, without its secure port unless the flags give one; it stops with
// the test.
func StartCloudController(t testing.TB, srv *APIServer, flags ...string) *Process {
	t.Helper()
	cloudBinaries(t)
	args := append([]string{"--kubeconfig", srv.ComponentKubeconfig("cloud-controller"), "--secure-port", "0", "--log-level", "warn"}, flags...)
	return startProcess(t, "cloud-controller", args...)
}

// ChildPids are the processes whose parent is pid (a service's plugins).
func ChildPids(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after
		// its closing parenthesis.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}
