package imagebuild

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildPause(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program")
	}
	out := filepath.Join(t.TempDir(), "pause.tar")
	if err := Build("..", Images[0], out); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(Images[0].Ref)
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/pause" || cfg.OS != "linux" {
		t.Fatalf("config %+v", cfg.Config)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdr, err := tar.NewReader(rc).Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != "pause" || hdr.Mode&0o111 == 0 || hdr.Size < 100_000 {
		t.Fatalf("layer entry %s mode %o size %d: want an executable pause", hdr.Name, hdr.Mode, hdr.Size)
	}
}

func TestFromBinary(t *testing.T) {
	img, err := FromBinary([]byte("#!/bin/true\n"), "/bin/x")
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, _ := layers[0].Uncompressed()
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "bin/x" {
		t.Fatalf("entry %v, %v", hdr, err)
	}
	data, _ := io.ReadAll(tr)
	if !bytes.Equal(data, []byte("#!/bin/true\n")) {
		t.Fatalf("content %q", data)
	}
}
