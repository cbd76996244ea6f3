package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// start serves a registry over dir, as the command does.
func start(t *testing.T, dir string) (*httptest.Server, *persistent) {
	t.Helper()
	p, err := newPersistent(registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(filepath.Join(dir, "blobs")))), filepath.Join(dir, "manifests.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.Close() })
	return srv, p
}

func TestImagesOutliveARestart(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, p := start(t, dir)
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(512, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(srv *httptest.Server, r string) name.Reference {
		n, err := name.ParseReference(srv.Listener.Addr().String() + "/" + r)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := remote.Write(ref(srv, "team/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(srv, "multi:latest"), idx); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(srv, "gone:v1"), img); err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ref(srv, "gone:v1")); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	p.Close()

	srv2, _ := start(t, dir)
	got, err := remote.Image(ref(srv2, "team/app:v1"))
	if err != nil {
		t.Fatalf("image after restart: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("digest after restart %s, want %s", d, want)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers after restart: %d, %v", len(layers), err)
	}
	if _, err := layers[1].Compressed(); err != nil {
		t.Errorf("layer blob after restart: %v", err)
	}
	if _, err := remote.Index(ref(srv2, "multi:latest")); err != nil {
		t.Errorf("index after restart: %v", err)
	}
	if _, err := remote.Image(ref(srv2, "gone:v1")); err == nil {
		t.Error("a deleted tag came back after restart")
	}
}

// TestATornLogEndIsCut: a crash mid-append leaves half a line; the next
// start cuts it off, so what is pushed after that survives the next one.
func TestATornLogEndIsCut(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, p := start(t, dir)
	ref := func(srv *httptest.Server, r string) name.Reference {
		n, err := name.ParseReference(srv.Listener.Addr().String() + "/" + r)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	img, _ := random.Image(512, 1)
	if err := remote.Write(ref(srv, "a:v1"), img); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	p.Close()
	f, err := os.OpenFile(filepath.Join(dir, "manifests.log"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"method":"PUT","path":"/v2/torn/manif`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	srv2, p2 := start(t, dir)
	if err := remote.Write(ref(srv2, "b:v1"), img); err != nil {
		t.Fatal(err)
	}
	srv2.Close()
	p2.Close()
	srv3, _ := start(t, dir)
	for _, r := range []string{"a:v1", "b:v1"} {
		if _, err := remote.Image(ref(srv3, r)); err != nil {
			t.Errorf("%s after a torn log and two restarts: %v", r, err)
		}
	}
}

func TestIsManifest(t *testing.T) {
	for path, want := range map[string]bool{
		"/v2/app/manifests/v1":            true,
		"/v2/team/app/manifests/sha256:a": true,
		"/v2/app/blobs/sha256:a":          false,
		"/v2/app/manifests/":              false,
		"/v2/":                            false,
	} {
		if got := isManifest(path); got != want {
			t.Errorf("isManifest(%q) = %v, want %v", path, got, want)
		}
	}
}
