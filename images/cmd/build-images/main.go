// Command build-images builds Skiff's pause and test images into a
// directory of docker-archive tarballs (one per image), for the kubelet's
// image preload directory or `ctr images import`; with -stack, the images
// of docker-compose.yaml instead, for `docker load`; with -conformance,
// the images the upstream conformance suite runs. With -push, it sends the
// images to a registry instead of writing tarballs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"skiff.dev/images/imagebuild"
)

// options are the command's flags.
type options struct {
	out, module, only, programs, push string
	stack, conformance, packages      bool
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "bin/images", "Directory to write the image tarballs to.")
	flag.StringVar(&o.module, "module", "images", "Directory of the images module.")
	flag.BoolVar(&o.stack, "stack", false, "Build the images of docker-compose.yaml (imagebuild.Stack) instead of the pause and test images.")
	flag.BoolVar(&o.conformance, "conformance", false, "Build the images of the upstream conformance suite (imagebuild.Conformance) instead of the pause and test images.")
	flag.StringVar(&o.only, "only", "", "Comma-separated names of the images to build (e.g. apiserver,node); all when empty.")
	flag.StringVar(&o.programs, "programs", "", "Directory to keep the compiled programs in, so that building again relinks only what changed; a temporary one when empty.")
	flag.StringVar(&o.push, "push", "", "Push the images to the plain-HTTP registry at this host:port (their repository and tag, whatever registry they name) instead of writing tarballs; prints REF DIGEST → PUSHED-TAG for each.")
	flag.BoolVar(&o.packages, "packages", false, "Print the Debian packages the images carry programs of, one a line, and build nothing.")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(o options) error {
	images := imagebuild.Images
	switch {
	case o.stack && o.conformance:
		return fmt.Errorf("-stack and -conformance: choose one set of images")
	case o.stack:
		images = imagebuild.Stack
	case o.conformance:
		images = imagebuild.Conformance
	}
	if o.packages {
		printPackages(images)
		return nil
	}
	if o.only != "" {
		images = slices.DeleteFunc(slices.Clone(images), func(img imagebuild.Image) bool {
			return !slices.Contains(strings.Split(o.only, ","), strings.TrimSuffix(imagebuild.FileName(img), ".tar"))
		})
	}
	if o.push == "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	if o.programs == "" {
		dir, err := os.MkdirTemp("", "skiff-programs-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.programs = dir
	}
	// One go build for every program: the links run in parallel, and a
	// program several images carry (probe) is linked once.
	b := imagebuild.Builder{ModuleDir: o.module, Dir: o.programs}
	if err := b.Compile(images); err != nil {
		return err
	}
	for _, img := range images {
		if o.push != "" {
			if err := push(b, img, o.push); err != nil {
				return err
			}
			continue
		}
		file := filepath.Join(o.out, imagebuild.FileName(img))
		if err := b.Build(img, file); err != nil {
			return err
		}
		fmt.Printf("%s → %s\n", img.Ref, file)
	}
	return nil
}

// push sends img to the registry at addr.
func push(b imagebuild.Builder, img imagebuild.Image, addr string) error {
	image, err := b.Assemble(img)
	if err != nil {
		return err
	}
	if err := imagebuild.Push(context.Background(), image, img.Ref, addr); err != nil {
		return err
	}
	to, err := imagebuild.PushTag(img.Ref, addr)
	if err != nil {
		return err
	}
	digest, err := image.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s → %s\n", img.Ref, digest, to)
	return nil
}

// printPackages prints the Debian packages of images, each once.
func printPackages(images []imagebuild.Image) {
	var seen []string
	for _, img := range images {
		for _, p := range img.Packages {
			if !slices.Contains(seen, p) {
				seen = append(seen, p)
				fmt.Println(p)
			}
		}
	}
}
