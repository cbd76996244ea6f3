package attachdetach

import "testing"

// The name is Kubernetes' getAttachmentName: "csi-" and the hex SHA-256
// of handle, driver and node run together (sha256sum of the same bytes).
func TestAttachmentName(t *testing.T) {
	tests := []struct{ handle, driver, node, want string }{
		{"vol-1", "local.csi.skiff.dev", "node-a", "csi-5b2e5eb19c1af3d934763b8d9a67307d20d4398eecf4e34bee244708388ea89a"},
	}
	for _, tt := range tests {
		if got := AttachmentName(tt.handle, tt.driver, tt.node); got != tt.want {
			t.Errorf("AttachmentName(%q, %q, %q) = %s, want %s", tt.handle, tt.driver, tt.node, got, tt.want)
		}
	}
}
