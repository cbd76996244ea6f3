// Package pluginproctest helps the tests of plugin hosts: it builds the
// plugin programs a package's tests run, once each, and waits for what a
// supervisor does in the background.
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

// Builds compiles plugin programs for one package's tests, each once.
// Its zero value is ready; Cleanup, from TestMain, removes the programs.
type Builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]func() (string, error)
}

// Build compiles the main package pkg (a path such as "./testdata/echo")
// and returns the program's path. With -short the test is skipped.
func (b *Builds) Build(t testing.TB, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a plugin process")
	}
	bin, err := b.build(pkg)()
	if err != nil {
		t.Fatalf("build the test plugin %s: %v", pkg, err)
	}
	return bin
}

func (b *Builds) build(pkg string) func() (string, error) {
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

func (b *Builds) tempDir() (string, error) {
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

// Cleanup removes the programs built.
func (b *Builds) Cleanup() {
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
