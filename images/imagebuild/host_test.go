package imagebuild

import (
	"reflect"
	"testing"
)

func TestParseLdd(t *testing.T) {
	out := `	linux-vdso.so.1 (0x00007ffd1b5f2000)
	libseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x00007f0d5c1e1000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0d5bfff000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f0d5c214000)
`
	got, err := parseLdd(out)
	want := []string{"/lib/x86_64-linux-gnu/libseccomp.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseLdd = %v, %v; want %v", got, err, want)
	}
	if _, err := parseLdd("\tlibgone.so.1 => not found\n"); err == nil {
		t.Error("a missing library: no error")
	}
}

func TestHostFilesCarryLibraries(t *testing.T) {
	files, err := hostFiles([]string{"/bin/sh", "/bin/sh"}, nil)
	if err != nil {
		t.Skip("no dynamic /bin/sh:", err)
	}
	paths := map[string]int{}
	for _, f := range files {
		paths[f.Path]++
		if len(f.Data) == 0 {
			t.Errorf("%s is empty", f.Path)
		}
	}
	if paths["/bin/sh"] != 1 {
		t.Errorf("/bin/sh carried %d times", paths["/bin/sh"])
	}
	if len(files) < 2 {
		t.Errorf("no libraries with /bin/sh: %v", paths)
	}
	if _, err := hostFiles([]string{"/nonexistent/prog"}, []string{"prog"}); err == nil {
		t.Error("a missing program: no error")
	}
}

func TestFileName(t *testing.T) {
	for ref, want := range map[string]string{
		"registry.skiff.local/pause:3.10": "pause.tar",
		"skiff/controller-manager:dev":    "controller-manager.tar",
	} {
		if got := FileName(Image{Ref: ref}); got != want {
			t.Errorf("FileName(%s) = %s, want %s", ref, got, want)
		}
	}
}
