// Package imagebuild turns Skiff's small programs into container images
// without Docker or a registry: each program is compiled as a static
// binary and written, with any tools the image carries and links to them,
// as the single layer of an image whose entrypoint it is, into a
// docker-archive tarball that containerd can import, or pushed into a
// registry. Programs that are not Go (containerd, busybox, curl) come from
// this machine's Debian packages with the libraries they load.
package imagebuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	// Binary is the program's path inside the image, e.g. "/pause", and
	// the image's entrypoint. Empty when the image has no program of its
	// own (neither Package nor Prebuilt) and no entrypoint: Cmd then says
	// what runs.
	Binary string
	// Cmd are the image's default arguments (Docker's CMD): what runs
	// without an entrypoint, or the entrypoint's arguments.
	Cmd []string
	// Tools are further programs in the image.
	Tools []Tool
	// Dirs are empty directories anyone may write to, e.g. "/tmp".
	Dirs []string
	// Env is the image's environment, e.g. "PATH=/bin:/".
	Env []string
	// Host are programs of this machine the image carries at the same
	// paths, with the shared libraries they load (as ldd lists them).
	Host []string
	// Packages are the Debian packages that Host and Multicall come from.
	Packages []string
	// Multicall are programs of this machine that act as the name they
	// are called by (busybox): the image carries each as a Host program,
	// with a link at every path its --list-full option lists, except
	// where the image has a program of that name already (a real curl or
	// sh beats busybox's applet).
	Multicall []string
	// Files are further files, links and directories, e.g. /etc/passwd.
	Files []File
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
			"cat", "dig", "dnsbench", "echo", "env", "exit", "false", "get", "head", "hostname", "id", "ls", "nslookup", "rm", "sleep", "stderr", "touch", "true", "write")}},
		Dirs: []string{"/tmp"},
		Env:  []string{"PATH=/bin:/"},
	},
}

// CoreDNSVersion is the CoreDNS release the cluster DNS add-on runs,
// tools/coredns/go.mod's.
const CoreDNSVersion = "v1.15.0"

// CoreDNSImage is the cluster DNS add-on's image, the name
// deploy/addons/coredns.yaml runs and the node image preloads.
const CoreDNSImage = "registry.k8s.io/coredns/coredns:" + CoreDNSVersion

// Addons are the images of the cluster's add-ons (deploy/addons), which
// the node image preloads so that no node pulls them: third-party
// programs built from their Go modules, unmodified. CoreDNS's is upstream's
// image name, entrypoint and port use: /coredns, run as root with every
// capability but NET_BIND_SERVICE dropped by its pod.
var Addons = []Image{
	{Prebuilt: "../bin/coredns", Ref: CoreDNSImage, Binary: "/coredns"},
	// The provisioner of Skiff's own local CSI driver
	// (deploy/addons/csi-local.yaml); the driver itself runs beside the
	// kubelet, in the node image.
	{
		Package: "skiff.dev/plugins/csi/cmd/skiff-csi-provisioner", Ref: CSILocalImage, Binary: "/skiff-csi-provisioner",
		Dirs: []string{"/tmp"},
	},
}

// CSILocalImage is the local CSI driver add-on's image, its provisioner:
// the name deploy/addons/csi-local.yaml runs and the node image preloads.
const CSILocalImage = "registry.skiff.local/csi-local:1.0"

// byRef is the image of Images or Addons named ref.
func byRef(ref string) (Image, bool) {
	for _, list := range [][]Image{Images, Addons} {
		if i := slices.IndexFunc(list, func(img Image) bool { return img.Ref == ref }); i >= 0 {
			return list[i], true
		}
	}
	return Image{}, false
}

// Build compiles img's programs in moduleDir for this machine's
// architecture and writes the image to out as a docker-archive tarball.
// To build several images, a Builder compiles their programs once.
func Build(moduleDir string, img Image, out string) error {
	dir, err := os.MkdirTemp("", "skiff-programs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := Builder{ModuleDir: moduleDir, Dir: dir}
	if err := b.Compile([]Image{img}); err != nil {
		return err
	}
	return b.Build(img, out)
}

// Builder builds images out of programs compiled beforehand, all with one
// go build (Compile), into Dir. The go command leaves a program there that
// is already up to date, so with a Dir that is kept, building the images
// again after a small change relinks only the programs it touched.
type Builder struct {
	ModuleDir string // the images module, where "./pause" and the like are
	Dir       string // the compiled programs, each named after its package's last element
}

// Compile builds the Go programs of imgs, of their tools and of the images
// they preload, as static Linux programs for this machine's architecture.
func (b Builder) Compile(imgs []Image) error {
	pkgs, err := packages(imgs)
	if err != nil {
		return err
	}
	if len(pkgs) == 0 {
		return nil
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(b.Dir)
	if err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = b.ModuleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", strings.Join(pkgs, " "), err, msg)
	}
	return nil
}

// packages are the Go packages Compile builds for imgs, each once. Their
// last elements name the programs in Dir, so they must differ.
func packages(imgs []Image) ([]string, error) {
	var pkgs []string
	byName := map[string]string{}
	add := func(pkg string) error {
		name := path.Base(pkg)
		switch byName[name] {
		case pkg:
			return nil
		case "":
			byName[name] = pkg
			pkgs = append(pkgs, pkg)
			return nil
		}
		return fmt.Errorf("programs %s and %s would both be %s", byName[name], pkg, name)
	}
	var visit func(img Image) error
	visit = func(img Image) error {
		if img.Package != "" && img.Prebuilt == "" {
			if err := add(img.Package); err != nil {
				return err
			}
		}
		for _, tool := range img.Tools {
			if err := add(tool.Package); err != nil {
				return err
			}
		}
		for _, ref := range img.Preload {
			pre, ok := byRef(ref)
			if !ok {
				return fmt.Errorf("image %s: preload %s: not one of Images or Addons", img.Ref, ref)
			}
			if err := visit(pre); err != nil {
				return err
			}
		}
		return nil
	}
	for _, img := range imgs {
		if err := visit(img); err != nil {
			return nil, err
		}
	}
	return pkgs, nil
}

// Build writes img, whose programs Compile built, to out as a
// docker-archive tarball.
func (b Builder) Build(img Image, out string) error {
	image, err := b.Assemble(img)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(img.Ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, ref, image)
}

// Assemble gathers the files of img, whose programs Compile built, into
// an image.
func (b Builder) Assemble(img Image) (v1.Image, error) {
	files, err := b.programFiles(img)
	if err != nil {
		return nil, err
	}
	host, err := hostFiles(append(slices.Clone(img.Host), img.Multicall...), img.Packages)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	files = append(files, host...)
	for _, ref := range img.Preload {
		f, err := b.preload(ref)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		files = append(files, f)
	}
	for _, dir := range img.Dirs {
		files = append(files, File{Path: dir, Dir: true})
	}
	for _, f := range img.Files {
		if f.Src != "" {
			data, err := os.ReadFile(filepath.Join(b.ModuleDir, f.Src))
			if err != nil {
				return nil, fmt.Errorf("image %s: %w", img.Ref, err)
			}
			f.Data, f.Src = data, ""
		}
		files = append(files, f)
	}
	links, err := multicallLinks(img.Multicall, files)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	files = append(files, links...)
	var entrypoint []string
	if img.Binary != "" {
		entrypoint = []string{img.Binary}
	}
	image, err := New(files, Config{Entrypoint: entrypoint, Cmd: img.Cmd, Env: img.Env})
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return image, nil
}

// programFiles are img's entrypoint program, when it has one, and its
// Tools with their links.
func (b Builder) programFiles(img Image) ([]File, error) {
	var files []File
	if img.Package != "" || img.Prebuilt != "" {
		data, err := b.entrypoint(img)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: img.Binary, Data: data})
	}
	for _, tool := range img.Tools {
		data, err := b.program(tool.Package)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		files = append(files, File{Path: tool.Path, Data: data})
		for _, link := range tool.Links {
			files = append(files, File{Path: link, Link: tool.Path})
		}
	}
	return files, nil
}

// entrypoint is img's program: compiled, or read from Prebuilt.
func (b Builder) entrypoint(img Image) ([]byte, error) {
	if img.Prebuilt == "" {
		data, err := b.program(img.Package)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Ref, err)
		}
		return data, nil
	}
	data, err := os.ReadFile(filepath.Join(b.ModuleDir, img.Prebuilt))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return data, nil
}

// program is the compiled program of pkg.
func (b Builder) program(pkg string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(b.Dir, path.Base(pkg)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("program %s is not compiled (Builder.Compile first)", pkg)
	}
	return data, err
}

// preload builds the image ref of Images or Addons as a tarball file
// under PreloadDir.
func (b Builder) preload(ref string) (File, error) {
	img, ok := byRef(ref)
	if !ok {
		return File{}, fmt.Errorf("preload %s: not one of Images or Addons", ref)
	}
	tmp, err := os.MkdirTemp("", "skiff-preload-")
	if err != nil {
		return File{}, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "preload.tar")
	if err := b.Build(img, out); err != nil {
		return File{}, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return File{}, err
	}
	return File{Path: path.Join(PreloadDir, FileName(img)), Data: data}, nil
}

// FileName is the name of img's tarball: the last part of its repository
// and ".tar" ("registry.skiff.local/pause:3.10" → "pause.tar").
func FileName(img Image) string {
	repo, _, _ := strings.Cut(path.Base(img.Ref), ":")
	return repo + ".tar"
}

// inDir is the paths of names in dir.
func inDir(dir string, names ...string) []string {
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = path.Join(dir, n)
	}
	return paths
}
