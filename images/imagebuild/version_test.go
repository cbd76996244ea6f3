package imagebuild

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoreDNSVersionPinnedOnce checks that the three places naming the
// CoreDNS release agree: the module tools/coredns builds bin/coredns from,
// CoreDNSVersion (the preloaded image's tag) and the image the add-on's
// Deployment runs.
func TestCoreDNSVersionPinnedOnce(t *testing.T) {
	root := filepath.Join("..", "..")
	mod := linesWith(t, filepath.Join(root, "tools", "coredns", "go.mod"), func(fields []string) (string, bool) {
		if len(fields) >= 2 && fields[0] == "github.com/coredns/coredns" {
			return fields[1], true
		}
		return "", false
	})
	if len(mod) != 1 || mod[0] != CoreDNSVersion {
		t.Errorf("tools/coredns/go.mod requires github.com/coredns/coredns %q, want exactly [%s] (CoreDNSVersion)", mod, CoreDNSVersion)
	}
	images := linesWith(t, filepath.Join(root, "deploy", "addons", "coredns.yaml"), func(fields []string) (string, bool) {
		if len(fields) == 2 && fields[0] == "image:" {
			return fields[1], true
		}
		return "", false
	})
	if len(images) != 1 || images[0] != CoreDNSImage {
		t.Errorf("deploy/addons/coredns.yaml runs images %q, want exactly [%s] (CoreDNSImage)", images, CoreDNSImage)
	}
}

// linesWith is what pick returns for the whitespace-separated fields of
// each line of the file at path, where it returns true.
func linesWith(t *testing.T, path string, pick func([]string) (string, bool)) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer f.Close()
	var got []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := pick(strings.Fields(sc.Text())); ok {
			got = append(got, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return got
}

// TestCSILocalImageNamedOnce checks that the local CSI driver add-on runs
// the image the node image preloads.
func TestCSILocalImageNamedOnce(t *testing.T) {
	images := linesWith(t, filepath.Join("..", "..", "deploy", "addons", "csi-local.yaml"), func(fields []string) (string, bool) {
		if len(fields) == 2 && fields[0] == "image:" {
			return fields[1], true
		}
		return "", false
	})
	if len(images) != 1 || images[0] != CSILocalImage {
		t.Errorf("deploy/addons/csi-local.yaml runs images %q, want [%s] (CSILocalImage)", images, CSILocalImage)
	}
}
