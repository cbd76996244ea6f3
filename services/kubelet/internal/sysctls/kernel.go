package sysctls

import (
	"strconv"
	"strings"
	"syscall"
)

// KernelVersion is the running kernel's major and minor version (zero if
// it cannot be read: then only the sysctls every kernel namespaces are
// safe).
func KernelVersion() [2]int {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return [2]int{}
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return parseKernel(b.String())
}

// parseKernel reads "6.1.0-18-amd64" as {6, 1}.
func parseKernel(release string) [2]int {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return [2]int{}
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return [2]int{}
	}
	return [2]int{major, minor}
}
