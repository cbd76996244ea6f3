package csi

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"skiff.dev/pkg/csiname"
)

// PluginName is the in-tree name Kubernetes' kubelet gives CSI volumes;
// it names their directories.
const PluginName = "kubernetes.io/csi"

// StagingPath is where a driver stages a volume for the whole node:
// <root>/plugins/kubernetes.io/csi/<driver>/<sha256(handle)>/globalmount.
func StagingPath(root, driver, handle string) string {
	return filepath.Join(root, "plugins", PluginName, driver, fmt.Sprintf("%x", sha256.Sum256([]byte(handle))), "globalmount")
}

// podVolumesDir holds a pod's CSI volumes: <root>/pods/<uid>/volumes/kubernetes.io~csi.
func podVolumesDir(root, podUID string) string {
	return filepath.Join(root, "pods", podUID, "volumes", "kubernetes.io~csi")
}

// TargetPath is where a driver publishes a volume for one pod:
// <root>/pods/<uid>/volumes/kubernetes.io~csi/<pv name>/mount.
func TargetPath(root, podUID, pvName string) string {
	return filepath.Join(podVolumesDir(root, podUID), pvName, "mount")
}

// volData is the record kept next to a published volume
// (vol_data.json, with Kubernetes' keys) so it can be unpublished and
// unstaged after a kubelet restart, when the pod may be gone.
type volData struct {
	SpecVolID           string `json:"specVolID"`
	VolumeHandle        string `json:"volumeHandle"`
	DriverName          string `json:"driverName"`
	NodeName            string `json:"nodeName,omitempty"`
	AttachmentID        string `json:"attachmentID,omitempty"`
	VolumeLifecycleMode string `json:"volumeLifecycleMode"`
}

const volDataFile = "vol_data.json"

// writeVolData writes the record durably: a new file, synced, renamed
// over the old one, and the directory synced, so a crash leaves the old
// record or the new one, never an empty file.
func writeVolData(dir string, d volData) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	tmp := filepath.Join(dir, "."+volDataFile)
	if err := writeSynced(tmp, b); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, volDataFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// errCorrupt is a record that cannot be read back (a crash before
// records were synced): it names no driver to call.
var errCorrupt = errors.New("corrupt volume record")

func readVolData(dir string) (volData, error) {
	var d volData
	b, err := os.ReadFile(filepath.Join(dir, volDataFile))
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w: %w", filepath.Join(dir, volDataFile), errCorrupt, err)
	}
	if d.DriverName == "" || d.VolumeHandle == "" {
		return d, fmt.Errorf("%s: %w: no driver or volume handle", filepath.Join(dir, volDataFile), errCorrupt)
	}
	return d, nil
}

// Published lists the PV names of the CSI volumes published for a pod
// (those with a record).
func Published(root, podUID string) []string {
	entries, _ := os.ReadDir(podVolumesDir(root, podUID))
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(podVolumesDir(root, podUID), e.Name(), volDataFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// inUse reports whether a pod other than except has the volume published.
func inUse(root, driver, handle, except string) bool {
	files, _ := filepath.Glob(filepath.Join(root, "pods", "*", "volumes", "kubernetes.io~csi", "*", volDataFile))
	for _, f := range files {
		uid := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(f)))))
		if uid == except {
			continue
		}
		if d, err := readVolData(filepath.Dir(f)); err == nil && d.DriverName == driver && d.VolumeHandle == handle {
			return true
		}
	}
	return false
}

// PodsWithVolumes lists the pods that have CSI volumes published on the
// node, from their records: after a restart, those of pods gone are
// orphans to unpublish.
func PodsWithVolumes(root string) []string {
	files, _ := filepath.Glob(filepath.Join(root, "pods", "*", "volumes", "kubernetes.io~csi", "*", volDataFile))
	var out []string
	for _, f := range files {
		uid := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(f)))))
		if !slices.Contains(out, uid) {
			out = append(out, uid)
		}
	}
	return out
}

// VolumesInUse are the unique names of the CSI volumes published on the
// node, as the Node's status.volumesInUse reports them:
// kubernetes.io/csi/<driver>^<handle>, sorted.
func VolumesInUse(root string) []string {
	files, _ := filepath.Glob(filepath.Join(root, "pods", "*", "volumes", "kubernetes.io~csi", "*", volDataFile))
	var out []string
	for _, f := range files {
		if d, err := readVolData(filepath.Dir(f)); err == nil {
			if name := csiname.UniqueVolumeName(d.DriverName, d.VolumeHandle); !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}
