// Package imagebuild turns Skiff's small programs into container images
// without Docker or a registry: each program is compiled as a static
// binary and written, with any tools the image carries and links to them,
// as the single layer of an image whose entrypoint it is, into a
// docker-archive tarball that containerd can import.
package imagebuild

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image is one image to build.
type Image struct {
	// Package is the Go package of the program, e.g. "./pause" or
	// "skiff.dev/services/apiserver/cmd/apiserver".
	Package string
	// Prebuilt, instead of Package, is a program already built, relative
	// to the module directory (a third-party program with its own build).
	Prebuilt string
	// Ref is the image's name, e.g. "registry.skiff.local/pause:3.10".
	Ref string
	// Binary is the program's path inside the image, e.g. "/pause".
	Binary string
	// Tools are further programs in the image.
	Tools []Tool
	// Dirs are empty directories anyone may write to, e.g. "/tmp".
	Dirs []string
	// Env is the image's environment, e.g. "PATH=/bin:/".
	Env []string
	// Host are programs of this machine the image carries at the same
	// paths, with the shared libraries they load (as ldd lists them).
	Host []string
	// Preload are refs of Images written into the image as docker-archive
	// tarballs under PreloadDir, for the kubelet to import.
	Preload []string
}

// Label marks every image built here, so `make stack-images` can prune
// the ones a rebuild left without a tag.
const Label = "dev.skiff.image"

// PreloadDir is where an image's Preload tarballs go.
const PreloadDir = "/usr/share/skiff/images"

// Tool is a program an image carries besides its entrypoint.
type Tool struct {
	// Package is the Go package of the program, e.g. "./toolbox".
	Package string
	// Path is the program's path inside the image, e.g. "/bin/toolbox".
	Path string
	// Links are paths of symbolic links to Path, e.g. "/bin/cat".
	Links []string
}

// Images are the images `make images` builds.
var Images = []Image{
	{Package: "./pause", Ref: "registry.skiff.local/pause:3.10", Binary: "/pause"},
	{
		Package: "./testserver", Ref: "registry.skiff.local/testserver:1.0", Binary: "/testserver",
		Tools: []Tool{{Package: "./toolbox", Path: "/bin/toolbox", Links: inDir("/bin",
			"cat", "echo", "env", "exit", "false", "get", "head", "hostname", "id", "ls", "rm", "sleep", "stderr", "touch", "true", "write")}},
		Dirs: []string{"/tmp"},
		Env:  []string{"PATH=/bin:/"},
	},
}

// Build compiles img's programs in moduleDir for this machine's
// architecture and writes the image to out as a docker-archive tarball.
func Build(moduleDir string, img Image, out string) error {
	dir, err := os.MkdirTemp("", "skiff-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data, err := program(moduleDir, img, dir)
	if err != nil {
		return err
	}
	files := []File{{Path: img.Binary, Data: data}}
	host, err := hostFiles(img.Host)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	files = append(files, host...)
	for _, ref := range img.Preload {
		f, err := preload(moduleDir, ref, dir)
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Ref, err)
		}
		files = append(files, f)
	}
	for _, dir := range img.Dirs {
		files = append(files, File{Path: dir, Dir: true})
	}
	for _, tool := range img.Tools {
		data, err := compile(moduleDir, tool.Package, dir)
		if err != nil {
			return err
		}
		files = append(files, File{Path: tool.Path, Data: data})
		for _, link := range tool.Links {
			files = append(files, File{Path: link, Link: tool.Path})
		}
	}
	image, err := New(files, img.Binary, img.Env)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Ref, err)
	}
	ref, err := name.NewTag(img.Ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, image)
}

// program is the entrypoint of img: compiled, or read from Prebuilt.
func program(moduleDir string, img Image, dir string) ([]byte, error) {
	if img.Prebuilt == "" {
		return compile(moduleDir, img.Package, dir)
	}
	data, err := os.ReadFile(filepath.Join(moduleDir, img.Prebuilt))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return data, nil
}

// preload builds the image ref of Images as a tarball file under
// PreloadDir.
func preload(moduleDir, ref, dir string) (File, error) {
	i := slices.IndexFunc(Images, func(img Image) bool { return img.Ref == ref })
	if i < 0 {
		return File{}, fmt.Errorf("preload %s: not one of Images", ref)
	}
	out := filepath.Join(dir, "preload.tar")
	if err := Build(moduleDir, Images[i], out); err != nil {
		return File{}, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return File{}, err
	}
	return File{Path: path.Join(PreloadDir, FileName(Images[i])), Data: data}, nil
}

// FileName is the name of img's tarball: the last part of its repository
// and ".tar" ("registry.skiff.local/pause:3.10" → "pause.tar").
func FileName(img Image) string {
	repo, _, _ := strings.Cut(path.Base(img.Ref), ":")
	return repo + ".tar"
}

// compile builds the static Linux program pkg of moduleDir in dir and
// returns it.
func compile(moduleDir, pkg, dir string) ([]byte, error) {
	exe := filepath.Join(dir, path.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", exe, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %v\n%s", pkg, err, msg)
	}
	return os.ReadFile(exe)
}

// inDir is the paths of names in dir.
func inDir(dir string, names ...string) []string {
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = path.Join(dir, n)
	}
	return paths
}
