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
	flag.Parse()
	images := imagebuild.Images
	if *stack {
		images = imagebuild.Stack
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, img := range images {
		file := filepath.Join(*out, imagebuild.FileName(img))
		if *only != "" && !slices.Contains(strings.Split(*only, ","), strings.TrimSuffix(imagebuild.FileName(img), ".tar")) {
			continue
		}
		if err := imagebuild.Build(*module, img, file); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s → %s\n", img.Ref, file)
	}
}
