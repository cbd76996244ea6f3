package imagebuild

import (
	"os"
	"path"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// TestConformanceRepoList checks that deploy/conformance/repo-list.yaml
// sends every registry of the upstream suite to ConformanceRegistry and
// that every conformance image is under a registry it lists.
func TestConformanceRepoList(t *testing.T) {
	data, err := os.ReadFile("../../deploy/conformance/repo-list.yaml")
	if err != nil {
		t.Fatal(err)
	}
	registries := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("line %q: want key: value", line)
		}
		if value != ConformanceRegistry && !strings.HasPrefix(value, ConformanceRegistry+"/") {
			t.Errorf("%s: got %s, want %s or a path under it", key, value, ConformanceRegistry)
		}
		registries[value] = true
	}
	if len(registries) < 5 {
		t.Fatalf("got registries %v, want upstream's ten keys", registries)
	}
	for _, img := range Conformance {
		tag, err := name.NewTag(img.Ref)
		if err != nil {
			t.Fatal(err)
		}
		dir := path.Dir(tag.Context().Name())
		if !registries[dir] {
			t.Errorf("image %s: %s is not a registry of the repo list", img.Ref, dir)
		}
	}
}

// TestBuildBusybox builds the conformance busybox image from this
// machine's busybox-static: no entrypoint, sh by default (bash), a link
// per other applet, and the accounts.
func TestBuildBusybox(t *testing.T) {
	if _, err := os.Stat(busyboxBin); err != nil {
		t.Skip("no busybox-static on this machine:", err)
	}
	b := Builder{ModuleDir: "..", Dir: t.TempDir()}
	img, err := b.Assemble(busybox(e2eImages + "/busybox:test"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 0 || strings.Join(cfg.Config.Cmd, " ") != "sh" {
		t.Errorf("got entrypoint %q and cmd %q, want none and [sh]", cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
	entries := layerEntries(t, img)
	if hdr := entries["bin/sh"]; hdr == nil || hdr.Linkname != "bash" {
		t.Errorf("got entry bin/sh %+v, want a link to bash", hdr)
	}
	for _, link := range []string{"bin/cat", "usr/bin/wget", "usr/sbin/httpd"} {
		if hdr := entries[link]; hdr == nil || hdr.Linkname != "busybox" && hdr.Linkname != busyboxBin {
			t.Errorf("got entry %s %+v, want a link to busybox", link, hdr)
		}
	}
	if hdr := entries["etc/passwd"]; hdr == nil || hdr.Mode != 0o644 {
		t.Errorf("got entry etc/passwd %+v, want a file of mode 0644", hdr)
	}
}
