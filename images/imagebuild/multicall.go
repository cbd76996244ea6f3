package imagebuild

import (
	"fmt"
	"os/exec"
	"path"
	"strings"
)

// multicallLinks are links to each of programs at the paths of the
// applets it lists with --list-full (busybox: one path a line, relative to
// /), except for names that a file of files, or an earlier applet, has
// already.
func multicallLinks(programs []string, files []File) ([]File, error) {
	taken := map[string]bool{}
	for _, f := range files {
		if !f.Dir {
			taken[path.Base(f.Path)] = true
		}
	}
	var links []File
	for _, prog := range programs {
		out, err := exec.Command(prog, "--list-full").Output()
		if err != nil {
			return nil, fmt.Errorf("list the applets of %s: %w", prog, err)
		}
		for _, p := range appletPaths(string(out)) {
			if taken[path.Base(p)] {
				continue
			}
			taken[path.Base(p)] = true
			links = append(links, File{Path: p, Link: prog})
		}
	}
	return links, nil
}

// appletPaths are the absolute paths of a --list-full answer
// ("usr/bin/wget" → "/usr/bin/wget").
func appletPaths(out string) []string {
	var paths []string
	for _, p := range strings.Fields(out) {
		paths = append(paths, path.Clean("/"+p))
	}
	return paths
}
