package csiname

import "testing"

// The name is Kubernetes' getAttachmentName: "csi-" and the hex SHA-256
// of handle, driver and node run together (sha256sum of the same bytes).
func TestAttachmentName(t *testing.T) {
	if got, want := AttachmentName("vol-1", "local.csi.skiff.dev", "node-a"), "csi-5b2e5eb19c1af3d934763b8d9a67307d20d4398eecf4e34bee244708388ea89a"; got != want {
		t.Errorf("AttachmentName = %s, want %s", got, want)
	}
}

func TestUniqueVolumeName(t *testing.T) {
	if got := UniqueVolumeName("local.csi.skiff.dev", "vol-1"); got != "kubernetes.io/csi/local.csi.skiff.dev^vol-1" {
		t.Errorf("UniqueVolumeName = %q", got)
	}
}
