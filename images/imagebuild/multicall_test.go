package imagebuild

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestMulticallLinks(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "busybox")
	script := "#!/bin/sh\n[ \"$1\" = --list-full ] || exit 1\necho bin/sh; echo usr/bin/nc; echo bin/cat; echo usr/bin/cat; echo sbin/ip\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files []File
		want  []string // link paths
	}{
		{name: "every applet", want: []string{"/bin/sh", "/usr/bin/nc", "/bin/cat", "/sbin/ip"}},
		{
			name:  "real programs win",
			files: []File{{Path: "/bin/sh", Link: "/bin/bash"}, {Path: "/usr/bin/nc", Data: []byte("x")}, {Path: "/ip", Dir: true}},
			want:  []string{"/bin/cat", "/sbin/ip"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			links, err := multicallLinks([]string{prog}, tc.files)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range links {
				if l.Link != prog {
					t.Errorf("link %s goes to %s, want %s", l.Path, l.Link, prog)
				}
				got = append(got, l.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got links %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := multicallLinks([]string{"/nonexistent/busybox"}, nil); err == nil {
		t.Error("a missing program: no error")
	}
}
