package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/images/imagebuild"
)

func TestApplets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOOLBOX_TEST", "yes")
	host, _ := os.Hostname()
	for _, tc := range []struct {
		argv      []string
		stdin     string
		code      int
		out, err  string // stdout, and a substring of stderr
		outSubstr bool   // out is a substring of stdout
	}{
		{argv: []string{"cat", file, file}, out: "value\nvalue\n"},
		{argv: []string{"/bin/cat"}, stdin: "in", out: "in"},
		{argv: []string{"cat", filepath.Join(dir, "none")}, code: 1, err: "no such file"},
		{argv: []string{"toolbox", "cat", file}, out: "value\n"},
		{argv: []string{"head", "-n", "1"}, stdin: "one\ntwo\n", out: "one\n"},
		{argv: []string{"head"}, stdin: "a\nb", out: "a\nb"},
		{argv: []string{"head", "-n", "x"}, code: 1, err: "invalid number of lines"},
		{argv: []string{"/bin/toolbox", "echo", "a", "b c"}, out: "a b c\n"},
		{argv: []string{"echo"}, out: "\n"},
		{argv: []string{"env"}, out: "TOOLBOX_TEST=yes\n", outSubstr: true},
		{argv: []string{"exit", "3"}, code: 3},
		{argv: []string{"exit"}},
		{argv: []string{"exit", "x"}, code: 1, err: "want 0 to 255"},
		{argv: []string{"true"}},
		{argv: []string{"false"}, code: 1},
		{argv: []string{"hostname"}, out: host + "\n"},
		{argv: []string{"ls", dir}, out: "key\nsub/\n"},
		{argv: []string{"ls", file}, out: file + "\n"},
		{argv: []string{"ls", filepath.Join(dir, "none")}, code: 1, err: "no such file"},
		{argv: []string{"sleep", "0.001"}},
		{argv: []string{"sleep", "soon"}, code: 1, err: "not a number"},
		{argv: []string{"stderr", "to", "stderr"}, err: "to stderr\n"},
		{argv: []string{"touch"}, code: 1, err: "no file named"},
		{argv: []string{"id"}, out: fmt.Sprintf("uid=%d gid=%d groups=", os.Getuid(), os.Getgid()), outSubstr: true},
		{argv: []string{"write", filepath.Join(dir, "written"), "all", "done"}},
		{argv: []string{"cat", filepath.Join(dir, "written")}, out: "all done"},
		{argv: []string{"write"}, code: 1, err: "usage: write FILE"},
		{argv: []string{"sh", "-c", "true"}, code: 127, err: `no applet "sh"`},
		{argv: []string{"toolbox"}, code: 127, err: "have: cat dig dnsbench echo"},
	} {
		t.Run(strings.Join(tc.argv, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.argv, stdio{strings.NewReader(tc.stdin), &out, &errOut})
			if code != tc.code {
				t.Errorf("got exit code %d, want %d (stderr %q)", code, tc.code, errOut.String())
			}
			if got := out.String(); got != tc.out && !(tc.outSubstr && strings.Contains(got, tc.out)) {
				t.Errorf("got stdout %q, want %q", got, tc.out)
			}
			if !strings.Contains(errOut.String(), tc.err) || tc.err == "" && errOut.Len() > 0 {
				t.Errorf("got stderr %q, want %q", errOut.String(), tc.err)
			}
		})
	}
}

func TestTouchAndRemove(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ready")
	std := stdio{strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}}
	if code := run([]string{"touch", file}, std); code != 0 {
		t.Fatalf("touch: got exit code %d, want 0", code)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("after touch: %v", err)
	}
	if code := run([]string{"rm", file}, std); code != 0 {
		t.Fatalf("rm: got exit code %d, want 0", code)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after rm: got %v, want not exist", err)
	}
	if code := run([]string{"rm", file}, std); code != 1 {
		t.Fatalf("rm of a missing file: got exit code %d, want 1", code)
	}
}

// TestImageLinks checks that the testserver image links every applet.
func TestImageLinks(t *testing.T) {
	for _, img := range imagebuild.Images {
		for _, tool := range img.Tools {
			if tool.Package != "./toolbox" {
				continue
			}
			var linked []string
			for _, link := range tool.Links {
				linked = append(linked, filepath.Base(link))
			}
			slices.Sort(linked)
			if !slices.Equal(linked, names()) {
				t.Errorf("image %s links %v, want %v", img.Ref, linked, names())
			}
			return
		}
	}
	t.Fatal("no image carries ./toolbox")
}

// TestBinary runs the built program through a link named after an applet.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "toolbox")
	if msg, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	if err := os.Symlink("toolbox", filepath.Join(dir, "exit")); err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{{"exit", "3"}, {"toolbox", "exit", "3"}} {
		err := exec.Command(filepath.Join(dir, argv[0]), argv[1:]...).Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
			t.Errorf("%v: got %v, want exit status 3", argv, err)
		}
	}
}
