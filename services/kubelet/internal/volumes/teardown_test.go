package volumes

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// TearDown unmounts the pod's memory-backed emptyDirs but refuses to
// remove the volumes directory while anything else is mounted in it
// (a bind mount on the same filesystem included).
func TestTearDownKeepsMountedVolumes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts need root")
	}
	root := t.TempDir()
	m := &Manager{Root: root}
	ctx := context.Background()
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Uid: "uid"}, Spec: &corev1.PodSpec{Volumes: []*corev1.Volume{
		{Name: "mem", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: "Memory"}}}}}}
	if err := m.SetUp(ctx, pod, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(m.Dir("uid", "mem"), syscall.MNT_DETACH) })
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "data"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "pods/uid/volumes/kubernetes.io~csi/pv/mount")
	if err := os.MkdirAll(target, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(src, target, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
	if err := m.TearDown(ctx, "uid"); err == nil || !strings.Contains(err.Error(), "is still mounted") {
		t.Fatalf("TearDown = %v, want a refusal", err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "data")); err != nil || string(b) != "keep" {
		t.Fatalf("the mounted volume's data is gone: %v", err)
	}
	if err := syscall.Unmount(target, 0); err != nil {
		t.Fatal(err)
	}
	if err := m.TearDown(ctx, "uid"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "pods/uid/volumes")); !os.IsNotExist(err) {
		t.Errorf("the volumes directory is left: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(src, "data")); err != nil || string(b) != "keep" {
		t.Errorf("the volume's data is gone: %v", err)
	}
}
