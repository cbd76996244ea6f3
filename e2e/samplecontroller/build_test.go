package samplecontroller

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sampleControllerVersion is the release built; its go.mod asks for a Go
// this machine's toolchain satisfies.
const sampleControllerVersion = "v0.36.4"

// sampleController is a sample-controller binary and its module's
// directory in the module cache (for its example manifests).
type sampleController struct {
	binary, moduleDir string
}

// buildSampleController builds k8s.io/sample-controller in a throwaway
// module of its own, so it keeps the client-go it was released with; the
// test is skipped when the module cannot be downloaded (no network, no
// module proxy).
func buildSampleController(t *testing.T) sampleController {
	t.Helper()
	dir := t.TempDir()
	gomod := "module samplecontrollerbuild\n\ngo 1.26\n\nrequire k8s.io/sample-controller " + sampleControllerVersion + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) ([]byte, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// Not this repository's workspace; go.sum is filled in as
		// the build resolves; never a toolchain download.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		return cmd.CombinedOutput()
	}
	out, err := goCmd("mod", "download", "-json", "k8s.io/sample-controller@"+sampleControllerVersion)
	if err != nil {
		t.Skipf("k8s.io/sample-controller@%s cannot be downloaded (no network or module proxy?): %v\n%s", sampleControllerVersion, err, out)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Skipf("k8s.io/sample-controller@%s cannot be downloaded: %v %s\n%s", sampleControllerVersion, err, mod.Error, out)
	}
	bin := filepath.Join(dir, "sample-controller")
	if out, err := goCmd("build", "-o", bin, "k8s.io/sample-controller"); err != nil {
		if unreachable(string(out)) {
			t.Skipf("the modules sample-controller needs cannot be downloaded: %v\n%s", err, out)
		}
		t.Fatalf("build k8s.io/sample-controller@%s: %v\n%s", sampleControllerVersion, err, out)
	}
	return sampleController{binary: bin, moduleDir: mod.Dir}
}

// unreachable tells a go command's failure to reach the network.
func unreachable(out string) bool {
	for _, s := range []string{"dial tcp", "no such host", "i/o timeout", "connection refused", "network is unreachable", "TLS handshake timeout"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}
