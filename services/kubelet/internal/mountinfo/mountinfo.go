// Package mountinfo reads the kubelet's mount table (/proc/self/mountinfo)
// to tell whether anything is still mounted under a directory before it
// is removed, and makes the kubelet's root directory a shared mount.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one line of the mount table.
type Mount struct {
	// Root is the directory of the mounted filesystem that is mounted
	// (a bind mount's source inside its filesystem).
	Root string
	// MountPoint is where it is mounted.
	MountPoint string
	// Optional are the propagation fields: "shared:N", "master:N".
	Optional []string
	FSType   string
}

// File is the mount table read.
const File = "/proc/self/mountinfo"

// Read returns the mount table, in mount order.
func Read() ([]Mount, error) {
	f, err := os.Open(File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f)
}

// parse reads mountinfo lines: "id parent major:minor root mountpoint
// options [optional...] - fstype source superoptions".
func parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			return nil, fmt.Errorf("%s: malformed line %q", File, sc.Text())
		}
		out = append(out, Mount{Root: unescape(fields[3]), MountPoint: unescape(fields[4]),
			Optional: fields[6:sep], FSType: fields[sep+1]})
	}
	return out, sc.Err()
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

// Under lists the mounts on dir or below it, in mount order.
func Under(dir string) ([]Mount, error) {
	all, err := Read()
	if err != nil {
		return nil, err
	}
	return under(all, dir), nil
}

func under(all []Mount, dir string) []Mount {
	dir = filepath.Clean(dir)
	var out []Mount
	for _, m := range all {
		if m.MountPoint == dir || strings.HasPrefix(m.MountPoint, dir+"/") {
			out = append(out, m)
		}
	}
	return out
}

// Unmounted fails when anything is mounted on dir or below it: the
// directory must not be removed then, or the volume's data would go
// with it.
func Unmounted(dir string) error {
	mounts, err := Under(dir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("%s is still mounted", mounts[0].MountPoint)
	}
	return nil
}
