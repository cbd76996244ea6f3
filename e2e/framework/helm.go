package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the repository's top directory, whatever the test's cwd.
func RepoRoot() string { return filepath.Dir(moduleDir()) }

var (
	helmOnce sync.Once
	helmErr  error
)

// HelmBinary is bin/helm, built by make helm (from helm's Go module) when
// it is missing; the test is skipped only when it cannot be built.
func HelmBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(RepoRoot(), "bin", "helm")
	helmOnce.Do(func() {
		if _, err := os.Stat(bin); err == nil {
			return
		}
		cmd := exec.Command("make", "--no-print-directory", "helm")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("make helm: %v\n%s", err, out)
		}
	})
	if helmErr != nil {
		t.Skip("bin/helm cannot be built here:", helmErr)
	}
	return bin
}

// Helm runs bin/helm for at most timeout, with configuration and cache
// directories of its own, against kubeconfig when it is not empty, and
// returns its standard output and error together.
func Helm(t testing.TB, kubeconfig string, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, HelmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home+"/config", "HELM_CACHE_HOME="+home+"/cache", "HELM_DATA_HOME="+home+"/data")
	if kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}
