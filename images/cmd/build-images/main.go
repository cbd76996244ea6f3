// Command build-images builds Skiff's pause and test images into a
// directory of docker-archive tarballs (one per image), for the kubelet's
// image preload directory or `ctr images import`; with -stack, the images
// of docker-compose.yaml instead, for `docker load`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/images/imagebuild"
)

func main() {
	out := flag.String("out", "bin/images", "Directory to write the image tarballs to.")
	module := flag.String("module", "images", "Directory of the images module.")
	stack := flag.Bool("stack", false, "Build the images of docker-compose.yaml (imagebuild.Stack) instead of the pause and test images.")
	only := flag.String("only", "", "Comma-separated names of the images to build (e.g. apiserver,node); all when empty.")
	programs := flag.String("programs", "", "Directory to keep the compiled programs in, so that building again relinks only what changed; a temporary one when empty.")
	flag.Parse()
	if err := run(*out, *module, *stack, *only, *programs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out, module string, stack bool, only, programs string) error {
	images := imagebuild.Images
	if stack {
		images = imagebuild.Stack
	}
	if only != "" {
		images = slices.DeleteFunc(slices.Clone(images), func(img imagebuild.Image) bool {
			return !slices.Contains(strings.Split(only, ","), strings.TrimSuffix(imagebuild.FileName(img), ".tar"))
		})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if programs == "" {
		dir, err := os.MkdirTemp("", "skiff-programs-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		programs = dir
	}
	// One go build for every program: the links run in parallel, and a
	// program several images carry (probe) is linked once.
	b := imagebuild.Builder{ModuleDir: module, Dir: programs}
	if err := b.Compile(images); err != nil {
		return err
	}
	for _, img := range images {
		file := filepath.Join(out, imagebuild.FileName(img))
		if err := b.Build(img, file); err != nil {
			return err
		}
		fmt.Printf("%s → %s\n", img.Ref, file)
	}
	return nil
}
