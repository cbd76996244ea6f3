package imagebuild

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles programs")
	}
	for _, tc := range []struct {
		img   Image
		env   []string
		files []string // regular files, executable and over 100 kB
		links map[string]string
	}{
		{img: Images[0], files: []string{"pause"}},
		{
			img:   Images[1],
			env:   []string{"PATH=/bin:/"},
			files: []string{"testserver", "bin/toolbox"},
			links: map[string]string{"bin/cat": "toolbox", "bin/rm": "toolbox", "bin/sleep": "toolbox", "bin/touch": "toolbox"},
		},
	} {
		t.Run(tc.img.Ref, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "image.tar")
			if err := Build("..", tc.img, out); err != nil {
				t.Fatal(err)
			}
			tag, _ := name.NewTag(tc.img.Ref)
			img, err := tarball.ImageFromPath(out, &tag)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Config.Entrypoint, []string{tc.img.Binary}) || cfg.OS != "linux" || !slices.Equal(cfg.Config.Env, tc.env) {
				t.Fatalf("got entrypoint %q, env %q, os %q; want [%s], %q, linux", cfg.Config.Entrypoint, cfg.Config.Env, cfg.OS, tc.img.Binary, tc.env)
			}
			if cfg.Config.Labels[Label] != "true" {
				t.Errorf("labels %v lack %s", cfg.Config.Labels, Label)
			}
			entries := layerEntries(t, img)
			for _, dir := range tc.img.Dirs {
				if hdr := entries[dir[1:]+"/"]; hdr == nil || hdr.Typeflag != tar.TypeDir || hdr.Mode != 0o1777 {
					t.Errorf("got entry %s %+v, want a directory of mode 1777", dir, hdr)
				}
			}
			for _, f := range tc.files {
				if hdr := entries[f]; hdr == nil || hdr.Typeflag != tar.TypeReg || hdr.Mode&0o111 == 0 || hdr.Size < 100_000 {
					t.Errorf("got entry %s %+v, want an executable", f, hdr)
				}
			}
			for link, target := range tc.links {
				if hdr := entries[link]; hdr == nil || hdr.Typeflag != tar.TypeSymlink || hdr.Linkname != target {
					t.Errorf("got entry %s %+v, want a link to %s", link, hdr, target)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	img, err := New([]File{
		{Path: "/usr/bin/x", Data: []byte("#!/bin/true\n")},
		{Path: "/usr/bin/y", Link: "/usr/bin/x"},
		{Path: "/bin/z", Link: "/usr/bin/x"},
		{Path: "/tmp", Dir: true},
	}, Config{Entrypoint: []string{"/usr/bin/x"}, Env: []string{"A=b"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, hdr := range layerEntryList(t, img) {
		got = append(got, hdr.Name+" "+string(hdr.Typeflag)+" "+hdr.Linkname)
	}
	want := []string{"usr/ 5 ", "usr/bin/ 5 ", "usr/bin/x 0 ", "usr/bin/y 2 x", "bin/ 5 ", "bin/z 2 /usr/bin/x", "tmp/ 5 "}
	if !slices.Equal(got, want) {
		t.Fatalf("got entries %q, want %q", got, want)
	}
	cfg, _ := img.ConfigFile()
	if !slices.Equal(cfg.Config.Env, []string{"A=b"}) || !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/bin/x"}) {
		t.Fatalf("got config %+v, want env A=b and entrypoint /usr/bin/x", cfg.Config)
	}
	if _, err := New([]File{{Path: "x"}}, Config{}); err == nil {
		t.Fatal("got no error for a relative path, want one")
	}
}

func TestNewContent(t *testing.T) {
	img, err := New([]File{{Path: "/bin/x", Data: []byte("#!/bin/true\n")}}, Config{Entrypoint: []string{"/bin/x"}})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, _ := layers[0].Uncompressed()
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no bin/x: %v", err)
		}
		if hdr.Name == "bin/x" {
			break
		}
	}
	if data, _ := io.ReadAll(tr); !bytes.Equal(data, []byte("#!/bin/true\n")) {
		t.Fatalf("got content %q, want the file's", data)
	}
}

// layerEntries are the headers of img's only layer by name.
func layerEntries(t *testing.T, img v1.Image) map[string]*tar.Header {
	entries := map[string]*tar.Header{}
	for _, hdr := range layerEntryList(t, img) {
		entries[hdr.Name] = hdr
	}
	return entries
}

// layerEntryList are the headers of img's only layer in order.
func layerEntryList(t *testing.T, img v1.Image) []*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("got %d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var list []*tar.Header
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return list
		}
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, hdr)
	}
}

func TestPackages(t *testing.T) {
	for _, tc := range []struct {
		name string
		imgs []Image
		want []string
		err  bool
	}{
		{"the stack: each program once, the local CSI driver and the preloaded pause and CSI provisioner among them", Stack, []string{
			"skiff.dev/services/apiserver/cmd/apiserver", "./probe", "./servingcert", "skiff.dev/services/scheduler/cmd/scheduler",
			"skiff.dev/services/controller-manager/cmd/controller-manager", "skiff.dev/services/cloud-controller/cmd/cloud-controller",
			"./etcd", "./etcdpki", "skiff.dev/services/apiserver/cmd/controlplane-pki", "./registry", "./node", "skiff.dev/services/kubelet/cmd/kubelet", "skiff.dev/services/proxy/cmd/proxy",
			"skiff.dev/plugins/csi/cmd/skiff-csi-local", "./pause", "skiff.dev/plugins/csi/cmd/skiff-csi-provisioner",
		}, false},
		{"the test images", Images, []string{"./pause", "./testserver", "./toolbox"}, false},
		{"two programs of one name", []Image{{Package: "./a/probe"}, {Package: "./b/probe"}}, nil, true},
		{"a preload that is not one of Images", []Image{{Package: "./x", Preload: []string{"nope:1"}}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := packages(tc.imgs)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
		})
	}
}
