package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one absolute path in an image: a file holding Data, an
// executable unless Mode says otherwise; when Link is set, a symbolic link
// to the path Link; when Dir is set, an empty directory that anyone may
// write to, like /tmp.
type File struct {
	Path string
	Data []byte
	// Mode is a regular file's permission bits; zero means 0755.
	Mode int64
	// Src, in an Image's Files, is read into Data when the image is built:
	// a path relative to the module directory.
	Src  string
	Link string
	Dir  bool
}

// Config is how an image runs: Docker's ENTRYPOINT, CMD and ENV.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
}

// New is a Linux image for this machine's architecture with one layer
// holding files (and their directories), which runs as cfg says.
func New(files []File, run Config) (v1.Image, error) {
	data, err := layerTar(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithCompressedCaching) // compressed once, for the digest and the tarball
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
	cfg.Config.Entrypoint = run.Entrypoint
	cfg.Config.Cmd = run.Cmd
	cfg.Config.Env = run.Env
	cfg.Config.Labels = map[string]string{Label: "true"}
	return mutate.ConfigFile(img, cfg)
}

// layerTar is a tar of files, each preceded by its directories. A link is
// stored relative to its own directory.
func layerTar(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{"/": true}
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("file %q: want a clean absolute path", f.Path)
		}
		if err := writeDirs(tw, dirs, path.Dir(f.Path)); err != nil {
			return nil, err
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o755
		}
		hdr := &tar.Header{Name: f.Path[1:], Mode: mode, Size: int64(len(f.Data)), Typeflag: tar.TypeReg}
		switch {
		case f.Link != "":
			hdr = &tar.Header{Name: f.Path[1:], Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: relative(path.Dir(f.Path), f.Link)}
		case f.Dir:
			hdr = &tar.Header{Name: f.Path[1:] + "/", Mode: 0o1777, Typeflag: tar.TypeDir}
			dirs[f.Path] = true
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeDirs writes dir and its parents that are not yet in written.
func writeDirs(tw *tar.Writer, written map[string]bool, dir string) error {
	if written[dir] {
		return nil
	}
	if err := writeDirs(tw, written, path.Dir(dir)); err != nil {
		return err
	}
	written[dir] = true
	return tw.WriteHeader(&tar.Header{Name: dir[1:] + "/", Mode: 0o755, Typeflag: tar.TypeDir})
}

// relative is target as seen from dir: a name when target is in dir,
// else target itself.
func relative(dir, target string) string {
	if path.Dir(target) == dir {
		return path.Base(target)
	}
	return target
}
