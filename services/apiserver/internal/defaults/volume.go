package defaults

import (
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

// defaultMode is 0644, the file mode Kubernetes gives projected files.
const defaultMode = 0o644

// volume: a volume with no source is an emptyDir; files projected from
// secrets, config maps and the downward API get mode 0644; a projected
// service account token lives an hour.
func volume(v *corev1.Volume) {
	src := v.VolumeSource
	if src == nil || proto.Size(src) == 0 {
		v.VolumeSource = &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		return
	}
	if cm := src.ConfigMap; cm != nil && cm.DefaultMode == nil {
		cm.DefaultMode = proto.Int32(defaultMode)
	}
	if s := src.Secret; s != nil && s.DefaultMode == nil {
		s.DefaultMode = proto.Int32(defaultMode)
	}
	if d := src.DownwardApi; d != nil {
		if d.DefaultMode == nil {
			d.DefaultMode = proto.Int32(defaultMode)
		}
		for _, item := range d.Items {
			fieldRef(item.GetFieldRef())
		}
	}
	if p := src.Projected; p != nil {
		if p.DefaultMode == nil {
			p.DefaultMode = proto.Int32(defaultMode)
		}
		for _, s := range p.Sources {
			for _, item := range s.GetDownwardApi().GetItems() {
				fieldRef(item.GetFieldRef())
			}
			if t := s.GetServiceAccountToken(); t != nil && t.ExpirationSeconds == nil {
				t.ExpirationSeconds = proto.Int64(3600)
			}
		}
	}
	if h := src.HostPath; h != nil && h.Type == nil {
		h.Type = proto.String("")
	}
}
