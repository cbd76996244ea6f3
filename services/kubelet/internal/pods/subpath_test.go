package pods

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "skiff.dev/api/core/v1"
)

func TestSubPathHost(t *testing.T) {
	volume := filepath.Join(t.TempDir(), "vol")
	if err := os.MkdirAll(volume, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(volume, 0o777); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(volume, "escape")); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"POD_NAME": "foo", "ANNOTATION": "mypath", "UP": "..", "ABS": "/tmp", "EMPTY": ""}
	tests := []struct {
		name        string
		mount       *corev1.VolumeMount
		want, error string
	}{
		{name: "no subPath", mount: &corev1.VolumeMount{Name: "v"}, want: volume},
		{name: "subPath made", mount: &corev1.VolumeMount{Name: "v", SubPath: "a/b"}, want: filepath.Join(volume, "a/b")},
		{name: "subPathExpr", mount: &corev1.VolumeMount{Name: "v", SubPathExpr: "$(ANNOTATION)/$(POD_NAME)"}, want: filepath.Join(volume, "mypath/foo")},
		{name: "unset variable", mount: &corev1.VolumeMount{Name: "v", SubPathExpr: "$(NOPE)/$(EMPTY)/$(POD_NAME)"}, error: "missing value for EMPTY, NOPE"},
		{name: "backsteps", mount: &corev1.VolumeMount{Name: "v", SubPathExpr: "$(UP)"}, error: "unable to provision SubPath `..`: must not contain '..'"},
		{name: "absolute", mount: &corev1.VolumeMount{Name: "v", SubPathExpr: "$(ABS)"}, error: "error SubPath `/tmp` must not be an absolute path"},
		{name: "symlink out of the volume", mount: &corev1.VolumeMount{Name: "v", SubPath: "escape"},
			error: `failed to prepare subPath for volumeMount "v" of container "c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := subPathHost(tt.mount, volume, "c", env)
			if tt.error != "" {
				if err == nil || err.Error() != tt.error {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.error)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if fi, err := os.Stat(got); err != nil || fi.Mode().Perm() != 0o777 {
				t.Errorf("subPath directory: %v, %v; want mode 0777 as the volume", fi.Mode(), err)
			}
		})
	}
}
