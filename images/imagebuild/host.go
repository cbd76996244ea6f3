package imagebuild

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// hostFiles are programs of this machine and the shared libraries they
// load, each at its own path (symbolic links followed); packages are the
// Debian packages they come from, for the message when one is missing.
func hostFiles(programs, packages []string) ([]File, error) {
	var files []File
	var seen []string
	add := func(p string) error {
		if slices.Contains(seen, p) {
			return nil
		}
		seen = append(seen, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, File{Path: p, Data: data})
		return nil
	}
	for _, prog := range programs {
		if err := add(prog); err != nil {
			return nil, fmt.Errorf("host program %s: %w (the image carries it from this machine's Debian packages: apt-get install %s)", prog, err, strings.Join(packages, " "))
		}
		libs, err := sharedLibraries(prog)
		if err != nil {
			return nil, err
		}
		for _, lib := range libs {
			if err := add(lib); err != nil {
				return nil, fmt.Errorf("library of %s: %w", prog, err)
			}
		}
	}
	return files, nil
}

// sharedLibraries are the libraries ldd says prog loads; none for a
// static program.
func sharedLibraries(prog string) ([]string, error) {
	out, err := exec.Command("ldd", prog).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", prog, err, out)
	}
	return parseLdd(string(out))
}

// parseLdd reads ldd's lines: "name => /path (0x...)", "/path (0x...)"
// for the loader, "linux-vdso.so.1 (0x...)" for the kernel's own.
func parseLdd(out string) ([]string, error) {
	var libs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case len(f) >= 3 && f[1] == "=>":
			if f[2] == "not" {
				return nil, fmt.Errorf("ldd: %s not found", f[0])
			}
			libs = append(libs, f[2])
		case strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0])
		}
	}
	return libs, nil
}
