package pods

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// annotationRestartCount is Kubernetes' annotation holding how many times
// the container had restarted when this instance was made.
const annotationRestartCount = "io.kubernetes.container.restartCount"

// logFileName matches a container instance's log file, <restartCount>.log
// (a rotated one has a suffix).
var logFileName = regexp.MustCompile(`^(\d+)\.log(\..*)?$`)

// restartCountOf is a container instance's restart count: its annotation,
// or its CRI attempt.
func restartCountOf(c *runtimeapi.Container) int32 {
	if n, err := strconv.ParseInt(c.GetAnnotations()[annotationRestartCount], 10, 32); err == nil {
		return int32(n)
	}
	return int32(c.GetMetadata().GetAttempt())
}

// nextRestartCount is the restart count of a container's next instance:
// one more than its newest instance's, or, when the runtime holds none
// (its sandbox was replaced, or the runtime lost its state), one more than
// the newest log file's, as Kubernetes counts.
func (m *Manager) nextRestartCount(pod *corev1.Pod, ps *podState, name string) uint32 {
	if prev := ps.latest(name); prev != nil {
		return uint32(restartCountOf(prev)) + 1
	}
	entries, err := os.ReadDir(filepath.Join(m.logDir(pod), name))
	if err != nil {
		return 0
	}
	next := uint32(0)
	for _, e := range entries {
		if m := logFileName.FindStringSubmatch(e.Name()); m != nil {
			if n, err := strconv.ParseUint(m[1], 10, 32); err == nil && uint32(n) >= next {
				next = uint32(n) + 1
			}
		}
	}
	return next
}
