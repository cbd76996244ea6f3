package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "skiff.dev/api/core/v1"
)

// subPathHost resolves a volume mount's subPath, or its subPathExpr
// expanded from the container's environment, inside the volume at
// volume: the host path to mount, made as a directory with the volume's
// permissions when missing. Errors carry Kubernetes' messages; they hold
// the container in CreateContainerConfigError.
func subPathHost(vm *corev1.VolumeMount, volume, container string, env map[string]string) (string, error) {
	sub := vm.GetSubPath()
	if expr := vm.GetSubPathExpr(); expr != "" {
		var err error
		if sub, err = expandSubPathExpr(expr, env); err != nil {
			return "", err
		}
	}
	if sub == "" {
		return volume, nil
	}
	if filepath.IsAbs(sub) {
		return "", fmt.Errorf("error SubPath `%s` must not be an absolute path", sub)
	}
	if slices.Contains(strings.Split(filepath.ToSlash(sub), "/"), "..") {
		return "", fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", sub)
	}
	host := filepath.Join(volume, sub)
	if _, err := os.Lstat(host); os.IsNotExist(err) {
		if err := makeSubPath(volume, host); err != nil {
			return "", fmt.Errorf("failed to create subPath directory for volumeMount %q of container %q", vm.GetName(), container)
		}
	}
	// The subPath must not lead out of the volume through a symlink.
	real, err := filepath.EvalSymlinks(host)
	if err != nil {
		return "", fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q", vm.GetName(), container)
	}
	base, err := filepath.EvalSymlinks(volume)
	if err != nil || !within(real, base) {
		return "", fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q", vm.GetName(), container)
	}
	return real, nil
}

// makeSubPath makes a missing subPath directory, and the missing ones on
// the way, with the volume's permissions (past the umask), so whoever may
// write in the volume may write in it.
func makeSubPath(volume, host string) error {
	fi, err := os.Stat(volume)
	if err != nil {
		return err
	}
	perm := fi.Mode() & (os.ModePerm | os.ModeSetgid)
	var missing []string
	for dir := host; dir != volume && within(dir, volume); dir = filepath.Dir(dir) {
		if _, err := os.Lstat(dir); !os.IsNotExist(err) {
			break
		}
		missing = append(missing, dir)
	}
	if err := os.MkdirAll(host, perm); err != nil {
		return err
	}
	for _, dir := range missing {
		if err := os.Chmod(dir, perm); err != nil {
			return err
		}
	}
	return nil
}

// within reports whether path is base or below it.
func within(path, base string) bool {
	return path == base || strings.HasPrefix(path, base+string(filepath.Separator))
}

// expandSubPathExpr expands $(VAR) references as Kubernetes does for
// subPathExpr: a variable that is unset or empty is an error.
func expandSubPathExpr(expr string, env map[string]string) (string, error) {
	var missing []string
	out := expandFunc(expr, func(name string) (string, bool) {
		v := env[name]
		if v == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return v, true
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}
