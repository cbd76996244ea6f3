// Package mounter makes and removes the bind mounts the local CSI driver
// publishes volumes with, and tells whether a path is a mount point, by
// reading the kernel's mount table.
package mounter

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountInfo is the calling process's mount table.
const mountInfo = "/proc/self/mountinfo"

// Mount describes one mount point of the table.
type Mount struct {
	Dev      string // major:minor of the filesystem
	Root     string // the directory of the filesystem mounted at Point
	Point    string
	Options  []string // per-mount options: ro or rw, nosuid ...
	Optional []string // propagation: shared:N, master:N ...
}

// ReadOnly reports whether the mount is read-only.
func (m Mount) ReadOnly() bool {
	for _, o := range m.Options {
		if o == "ro" {
			return true
		}
	}
	return false
}

// Table reads the mount table, in mount order (later lines are
// mounted on top of earlier ones at the same point).
func Table() ([]Mount, error) {
	f, err := os.Open(mountInfo)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	defer f.Close()
	var table []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m, err := parseLine(sc.Text())
		if err != nil {
			return nil, err
		}
		table = append(table, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	return table, nil
}

// Find returns the topmost mount at path, if path is a mount point.
func Find(path string) (Mount, bool, error) {
	table, err := Table()
	if err != nil {
		return Mount{}, false, err
	}
	m, ok := top(table, path)
	return m, ok, nil
}

// top is the last mount of the table at point.
func top(table []Mount, point string) (Mount, bool) {
	for i := len(table) - 1; i >= 0; i-- {
		if table[i].Point == point {
			return table[i], true
		}
	}
	return Mount{}, false
}

// parseLine reads one line of mountinfo (proc(5)): ID, parent, dev, root,
// mount point, options, optional fields up to "-", then the filesystem.
func parseLine(line string) (Mount, error) {
	fields := strings.Fields(line)
	if len(fields) < 7 {
		return Mount{}, fmt.Errorf("mount table: short line %q", line)
	}
	m := Mount{
		Dev: fields[2], Root: unescape(fields[3]),
		Point: unescape(fields[4]), Options: strings.Split(fields[5], ","),
	}
	for _, f := range fields[6:] {
		if f == "-" {
			break
		}
		m.Optional = append(m.Optional, f)
	}
	return m, nil
}

// unescape undoes the octal escapes (\040 for a space) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Bind mounts source onto target (a directory), read-only when asked: a
// bind mount takes the read-only flag only in a remount.
func Bind(source, target string, readOnly bool) error {
	if err := unix.Mount(source, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", source, target, err)
	}
	if !readOnly {
		return nil
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		_ = unix.Unmount(target, 0)
		return fmt.Errorf("read-only remount of %s: %w", target, err)
	}
	return nil
}

// Unmount removes every mount stacked at target; none is no error.
func Unmount(target string) error {
	for {
		_, mounted, err := Find(target)
		if err != nil || !mounted {
			return err
		}
		if err := unix.Unmount(target, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
}
