package volumes

import (
	"context"
	"os"
	"syscall"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestTmpfsOptions(t *testing.T) {
	for _, tc := range []struct {
		limit, want string
		bad         bool
	}{
		{limit: "", want: ""},
		{limit: "16Mi", want: "size=16777216"},
		{limit: "1G", want: "size=1000000000"},
		{limit: "1500k", want: "size=1500000"},
		{limit: "0", want: ""},
		{limit: "lots", bad: true},
	} {
		src := &corev1.EmptyDirVolumeSource{Medium: "Memory"}
		if tc.limit != "" {
			src.SizeLimit = &metav1.Quantity{String_: tc.limit}
		}
		got, err := tmpfsOptions(src)
		if tc.bad {
			if err == nil {
				t.Errorf("sizeLimit %q: options %q, want an error", tc.limit, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("sizeLimit %q: options %q, %v; want %q", tc.limit, got, err, tc.want)
		}
	}
}

// A memory-backed emptyDir with a sizeLimit in binary units is a tmpfs of
// that many bytes.
func TestMemoryEmptyDirSize(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts need root")
	}
	m := &Manager{Root: t.TempDir()}
	ctx := context.Background()
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Uid: "uid"}, Spec: &corev1.PodSpec{Volumes: []*corev1.Volume{
		{Name: "mem", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			Medium: "Memory", SizeLimit: &metav1.Quantity{String_: "16Mi"}}}}}}}
	if err := m.SetUp(ctx, pod, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.TearDown(ctx, "uid") })
	var st syscall.Statfs_t
	if err := syscall.Statfs(m.Dir("uid", "mem"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != 0x01021994 { // TMPFS_MAGIC
		t.Fatalf("the volume is on a filesystem of type %#x, not tmpfs", st.Type)
	}
	if size := int64(st.Blocks) * st.Bsize; size != 16<<20 {
		t.Errorf("tmpfs of %d bytes, want %d", size, 16<<20)
	}
}
