package app

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsAreOwnerOnly: whatever the apiserver writes into its data
// directory that would let someone act as a user or as the server (keys,
// kubeconfigs, the token file, the node bootstrap token) can be read by
// its owner only (0600), in directories only its owner can enter (0700);
// only certificates and public keys may be anyone's. etcd's own files are
// etcd's business.
func TestSecretsAreOwnerOnly(t *testing.T) {
	s := startServerWith(t, func(o *Options) { o.WriteNodeBootstrapKubeconfig = true })
	public := func(name string) bool { return strings.HasSuffix(name, ".crt") || strings.HasSuffix(name, ".pub") }
	var secrets []string
	err := filepath.WalkDir(s.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.dataDir, path)
		if d.IsDir() && rel == "etcd" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := fi.Mode().Perm(); {
		case d.IsDir() && rel == ".": // the operator's (made 0700 when missing)
		case d.IsDir():
			if mode&0o077 != 0 {
				t.Errorf("%s/: mode %v, want 0700", rel, mode)
			}
		case public(d.Name()):
			if mode&0o022 != 0 {
				t.Errorf("%s: mode %v: writable by others", rel, mode)
			}
		default:
			secrets = append(secrets, rel)
			if mode != 0o600 {
				t.Errorf("%s: mode %v, want 0600", rel, mode)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The secrets the apiserver is known to write are among them.
	for _, want := range []string{"admin.kubeconfig", "tokens.csv", "pki/ca.key", "pki/apiserver.key", "pki/sa.key",
		"pki/node-bootstrap-token", "kubeconfigs/scheduler.kubeconfig", "kubeconfigs/controller-manager.kubeconfig",
		"kubeconfigs/cloud-controller.kubeconfig", "kubeconfigs/proxy.kubeconfig", "kubeconfigs/node-bootstrap.kubeconfig"} {
		if _, err := os.Stat(filepath.Join(s.dataDir, want)); err != nil {
			t.Errorf("%s: %v (the test's list of what the apiserver writes is stale)", want, err)
		}
	}
	t.Logf("checked %v", secrets)
}
