// Package mountinfo reads the kernel's mount table of the calling
// process (/proc/self/mountinfo, proc(5)), for the kubelet (is anything
// still mounted under a directory) and CSI drivers (what is mounted at a
// target, and from where).
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// File is the mount table read.
const File = "/proc/self/mountinfo"

// Mount is one line of the mount table.
type Mount struct {
	// Dev is the filesystem's major:minor.
	Dev string
	// Root is the directory of the filesystem that is mounted (a bind
	// mount's source inside its filesystem).
	Root string
	// Point is where it is mounted.
	Point string
	// Options are the per-mount options: ro or rw, nosuid ...
	Options []string
	// Optional are the propagation fields: "shared:N", "master:N".
	Optional []string
	FSType   string
}

// ReadOnly reports whether the mount is read-only.
func (m Mount) ReadOnly() bool { return slices.Contains(m.Options, "ro") }

// Read returns the mount table, in mount order (later lines are mounted
// on top of earlier ones at the same point).
func Read() ([]Mount, error) {
	f, err := os.Open(File)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Under lists the mounts on dir or below it, in mount order.
func Under(dir string) ([]Mount, error) {
	all, err := Read()
	if err != nil {
		return nil, err
	}
	return FilterUnder(all, dir), nil
}

// FilterUnder keeps the mounts of all that are on dir or below it (not
// on a sibling whose name only starts like dir's), in their order.
func FilterUnder(all []Mount, dir string) []Mount {
	dir = filepath.Clean(dir)
	var out []Mount
	for _, m := range all {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			out = append(out, m)
		}
	}
	return out
}

// Parse reads mountinfo lines.
func Parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m, err := ParseLine(sc.Text())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	return out, nil
}

// ParseLine reads one line: "id parent major:minor root mountpoint
// options [optional...] - fstype source superoptions".
func ParseLine(line string) (Mount, error) {
	fields := strings.Fields(line)
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+1 >= len(fields) {
		return Mount{}, fmt.Errorf("%s: malformed line %q", File, line)
	}
	return Mount{Dev: fields[2], Root: unescape(fields[3]), Point: unescape(fields[4]),
		Options: strings.Split(fields[5], ","), Optional: fields[6:sep:sep], FSType: fields[sep+1]}, nil
}

// unescape decodes the octal escapes (\040 for a space) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
