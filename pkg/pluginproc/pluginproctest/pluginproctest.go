// Package pluginproctest helps the tests of plugin hosts: it builds the
// plugin programs a package's tests run, once each, and waits for what a
// supervisor does in the background. A test package that builds plugins
// runs its tests through Main, which removes the programs at the end:
//
//	func TestMain(m *testing.M) { pluginproctest.Main(m) }
package pluginproctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// builds compiles plugin programs for one package's tests, each once.
type builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]func() (string, error)
}

var programs builds

// Main runs a package's tests and removes the plugin programs they built.
func Main(m *testing.M) {
	code := m.Run()
	programs.cleanup()
	os.Exit(code)
}

// Build compiles the main package pkg (a path such as "./testdata/echo")
// once for the package's tests and returns the program's path. With
// -short the test is skipped.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a plugin process")
	}
	bin, err := programs.build(pkg)()
	if err != nil {
		t.Fatalf("build the test plugin %s: %v", pkg, err)
	}
	return bin
}

func (b *builds) build(pkg string) func() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.bins[pkg]; ok {
		return f
	}
	if b.bins == nil {
		b.bins = map[string]func() (string, error){}
	}
	f := sync.OnceValues(func() (string, error) {
		dir, err := b.tempDir()
		if err != nil {
			return "", err
		}
		bin := filepath.Join(dir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "-"))
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("%w\n%s", err, out)
		}
		return bin, nil
	})
	b.bins[pkg] = f
	return f
}

func (b *builds) tempDir() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir == "" {
		dir, err := os.MkdirTemp("", "skiff-plugin-test-")
		if err != nil {
			return "", fmt.Errorf("make a directory for test plugins: %w", err)
		}
		b.dir = dir
	}
	return b.dir, nil
}

// cleanup removes the programs built.
func (b *builds) cleanup() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// Eventually polls cond until it returns nil, failing the test with
// cond's last error after 30 seconds.
func Eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
