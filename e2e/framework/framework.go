// Package framework starts real Skiff processes for black-box tests: it
// builds the binaries once per test binary, runs them on free ports in
// temporary directories, waits until they are ready and stops them when
// the test ends.
package framework

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// services are the binaries the tests run; plugins are the example
// plugins, built under their directory's name; programs are further
// commands, built under their package's last element (skiff-csi-local).
var (
	services = []string{"apiserver", "scheduler", "controller-manager", "kubelet", "proxy"}
	plugins  = []string{"maintenance"}
	programs = []string{"skiff.dev/plugins/csi/cmd/skiff-csi-local", "skiff.dev/plugins/csi/cmd/skiff-csi-provisioner",
		"skiff.dev/services/apiserver/cmd/controlplane-pki"}
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error

	imagesOnce sync.Once
	imagesDir  string
	imagesErr  error
)

// Main runs a package's tests and then removes the binaries and images
// they built.
// Every e2e package calls it from TestMain:
//
//	func TestMain(m *testing.M) { framework.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	if imagesDir != "" {
		_ = os.RemoveAll(imagesDir)
	}
	if etcdDir != "" {
		_ = os.RemoveAll(etcdDir)
	}
	os.Exit(code)
}

// Binary returns the path of a service binary, of an example plugin or of
// one of the further programs (skiff-csi-local), built from this checkout.
func Binary(t testing.TB, service string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "skiff-e2e-bin-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + "/"}
		for _, s := range services {
			args = append(args, "skiff.dev/services/"+s+"/cmd/"+s)
		}
		for _, p := range plugins {
			args = append(args, "skiff.dev/plugins/"+p)
		}
		args = append(args, programs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleDir()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build binaries: %v", buildErr)
	}
	return filepath.Join(binDir, service)
}

// Images builds the repository's container images (images/imagebuild)
// once per test binary and returns the directory holding their
// docker-archive tarballs, one per image.
func Images(t testing.TB) string {
	t.Helper()
	imagesOnce.Do(func() {
		imagesDir, imagesErr = os.MkdirTemp("", "skiff-e2e-images-")
		if imagesErr != nil {
			return
		}
		cmd := exec.Command("go", "run", "./images/cmd/build-images", "-out", imagesDir, "-module", "images")
		cmd.Dir = filepath.Dir(moduleDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			imagesErr = fmt.Errorf("go run ./images/cmd/build-images: %v\n%s", err, out)
		}
	})
	if imagesErr != nil {
		t.Fatalf("build images: %v", imagesErr)
	}
	return imagesDir
}

// moduleDir is the e2e module's directory, whatever the test's cwd.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// FreePort asks the kernel for a free TCP port on loopback.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Eventually polls cond until it returns nil or the deadline passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not true within %v: %v", what, timeout, last)
		case <-tick.C:
		}
	}
}
