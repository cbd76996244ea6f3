// Command build-images builds Skiff's pause and test images into a
// directory of docker-archive tarballs (one per image), for the kubelet's
// image preload directory or `ctr images import`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"skiff.dev/images/imagebuild"
)

func main() {
	out := flag.String("out", "bin/images", "Directory to write the image tarballs to.")
	module := flag.String("module", "images", "Directory of the images module.")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, img := range imagebuild.Images {
		file := filepath.Join(*out, strings.TrimPrefix(filepath.Base(img.Package), ".")+".tar")
		if err := imagebuild.Build(*module, img, file); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s → %s\n", img.Ref, file)
	}
}
