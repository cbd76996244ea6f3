package pods

import (
	"path/filepath"
	"testing"
)

// A --resolv-conf that cannot be read fails a new sandbox, but not the
// sync of a pod whose sandbox already runs.
func TestReadySandboxConfigUnreadableResolvConf(t *testing.T) {
	dir := t.TempDir()
	m := &Manager{cfg: Config{RootDir: dir, DNS: DNS{ClusterDomain: "cluster.local", ResolvConf: filepath.Join(dir, "missing")}}}
	pod := dnsPod("Default", false, nil)
	if _, _, err := m.sandboxConfig(pod, 0); err == nil {
		t.Error("a new sandbox: got no error, want the open error")
	}
	cfg, err := m.readySandboxConfig(pod, 1)
	if err != nil {
		t.Fatalf("a ready sandbox: got %v, want no error", err)
	}
	if got := cfg.GetMetadata().GetAttempt(); got != 1 || cfg.GetDnsConfig() != nil {
		t.Errorf("a ready sandbox: got attempt %d, DNS %v, want attempt 1 and no DNS", got, cfg.GetDnsConfig())
	}
}
