package pods

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	corev1 "skiff.dev/api/core/v1"
)

// cgroupParent is the pod's cgroup, by QoS class as Kubernetes lays them
// out: kubepods/pod<uid> (Guaranteed), kubepods/burstable/pod<uid>,
// kubepods/besteffort/pod<uid>.
func (m *Manager) cgroupParent(pod *corev1.Pod) string {
	return filepath.Join("/", m.cfg.CgroupRoot, "kubepods", qosDir(pod), "pod"+pod.GetMetadata().GetUid())
}

func qosDir(pod *corev1.Pod) string {
	switch pod.GetStatus().GetQosClass() {
	case "Guaranteed":
		return ""
	case "Burstable":
		return "burstable"
	}
	return "besteffort"
}

// cgroupMount is where cgroup hierarchies are mounted.
const cgroupMount = "/sys/fs/cgroup"

// removeCgroups removes the pod's cgroup in every hierarchy; the runtime
// removes its containers' cgroups but leaves the pod's.
func (m *Manager) removeCgroups(ctx context.Context, uid string) {
	base := filepath.Join("/", m.cfg.CgroupRoot, "kubepods")
	var dirs []string
	for _, qos := range []string{"", "burstable", "besteffort"} {
		rel := filepath.Join(base, qos, "pod"+uid)
		matches, _ := filepath.Glob(filepath.Join(cgroupMount, "*", rel))
		dirs = append(dirs, matches...)
		if _, err := os.Stat(filepath.Join(cgroupMount, rel)); err == nil {
			dirs = append(dirs, filepath.Join(cgroupMount, rel))
		}
	}
	for _, d := range dirs {
		if err := removeCgroupTree(d); err != nil {
			slog.DebugContext(ctx, "remove pod cgroup", "dir", d, "err", err)
		}
	}
}

// removeCgroupTree removes a cgroup and its children, deepest first
// (cgroup directories are removed with rmdir, not by deleting files).
func removeCgroupTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return os.Remove(dir)
}
