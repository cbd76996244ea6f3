package certificate

import (
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/pkg/client"
)

// TestBootstrapFilesAreOwnerOnly: what TLS bootstrap writes that would let
// someone act as the node (the key it asks a certificate for, the
// kubeconfig naming the certificate and key, the pairs of the store) is
// readable by its owner only.
func TestBootstrapFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	store := NewStore(filepath.Join(dir, "pki"))
	if _, _, err := bootstrapKey(store); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubelet.kubeconfig")
	if err := writeKubeconfig(kubeconfig, client.Config{Address: "apiserver:6443", CAData: []byte("ca")}, store.CurrentPath()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(store.Dir, tmpKeyFile), kubeconfig} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(path), fi.Mode().Perm())
		}
	}
}
