// Package imagebuild turns Skiff's small programs into container images
// without Docker or a registry: each program is compiled as a static
// binary and written, as the single layer of an image whose entrypoint it
// is, into a docker-archive tarball that containerd can import.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image is one image to build.
type Image struct {
	// Package is the Go package of the program, e.g. "./pause".
	Package string
	// Ref is the image's name, e.g. "registry.skiff.local/pause:3.10".
	Ref string
	// Binary is the program's path inside the image, e.g. "/pause".
	Binary string
}

// Images are the images `make images` builds.
var Images = []Image{
	{Package: "./pause", Ref: "registry.skiff.local/pause:3.10", Binary: "/pause"},
	{Package: "./testserver", Ref: "registry.skiff.local/testserver:1.0", Binary: "/testserver"},
}

// Build compiles img's program in moduleDir for this machine's
// architecture and writes the image to out as a docker-archive tarball.
func Build(moduleDir string, img Image, out string) error {
	bin, err := os.MkdirTemp("", "skiff-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	exe := filepath.Join(bin, filepath.Base(img.Binary))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", exe, img.Package)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", img.Package, err, msg)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	image, err := FromBinary(data, img.Binary)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	ref, err := name.NewTag(img.Ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, image)
}

// FromBinary is an image of one layer holding an executable at path,
// which is also its entrypoint.
func FromBinary(data []byte, path string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path[1:], Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Entrypoint = []string{path}
	return mutate.ConfigFile(img, cfg)
}
