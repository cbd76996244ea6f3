package volumes

import (
	"context"
	"fmt"
	"maps"
	"os"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/kubelet/internal/downward"
)

// file is one file of a generated volume.
type file struct {
	data []byte
	mode os.FileMode
}

// defaultMode is Kubernetes' 0644 for volume files.
const defaultMode = 0o644

// files computes the contents of a configMap, secret, downwardAPI or
// projected volume; nil means the source is none of these.
func (m *Manager) files(ctx context.Context, pod *corev1.Pod, src *corev1.VolumeSource, podIP string) (map[string]file, error) {
	ns := pod.GetMetadata().GetNamespace()
	switch {
	case src.GetConfigMap() != nil:
		s := src.GetConfigMap()
		out := map[string]file{}
		return out, m.configMapFiles(ctx, out, ns, s.GetLocalObjectReference().GetName(), s.GetItems(), s.GetOptional(), mode(s.DefaultMode))
	case src.GetSecret() != nil:
		s := src.GetSecret()
		out := map[string]file{}
		return out, m.secretFiles(ctx, out, ns, s.GetSecretName(), s.GetItems(), s.GetOptional(), mode(s.DefaultMode))
	case src.GetDownwardApi() != nil:
		out := map[string]file{}
		return out, m.downwardFiles(out, pod, src.GetDownwardApi().GetItems(), podIP, mode(src.GetDownwardApi().DefaultMode))
	case src.GetProjected() != nil:
		return m.projectedFiles(ctx, pod, src.GetProjected(), podIP)
	}
	return nil, nil
}

func mode(m *int32) os.FileMode {
	if m == nil {
		return defaultMode
	}
	return os.FileMode(*m)
}

func (m *Manager) projectedFiles(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource, podIP string) (map[string]file, error) {
	ns := pod.GetMetadata().GetNamespace()
	def := mode(p.DefaultMode)
	out := map[string]file{}
	for _, s := range p.GetSources() {
		var err error
		switch {
		case s.GetConfigMap() != nil:
			c := s.GetConfigMap()
			err = m.configMapFiles(ctx, out, ns, c.GetLocalObjectReference().GetName(), c.GetItems(), c.GetOptional(), def)
		case s.GetSecret() != nil:
			c := s.GetSecret()
			err = m.secretFiles(ctx, out, ns, c.GetLocalObjectReference().GetName(), c.GetItems(), c.GetOptional(), def)
		case s.GetDownwardApi() != nil:
			err = m.downwardFiles(out, pod, s.GetDownwardApi().GetItems(), podIP, def)
		case s.GetServiceAccountToken() != nil:
			err = m.tokenFile(ctx, out, pod, s.GetServiceAccountToken(), def)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (m *Manager) configMapFiles(ctx context.Context, out map[string]file, ns, name string, items []*corev1.KeyToPath, optional bool, def os.FileMode) error {
	cm, err := m.Objects.ConfigMap(ctx, ns, name)
	if err != nil {
		return notFound(err, optional, "configmap", name)
	}
	data := map[string][]byte{}
	for k, v := range cm.GetData() {
		data[k] = []byte(v)
	}
	maps.Copy(data, cm.GetBinaryData())
	return project(out, data, items, optional, def, "configmap", name)
}

func (m *Manager) secretFiles(ctx context.Context, out map[string]file, ns, name string, items []*corev1.KeyToPath, optional bool, def os.FileMode) error {
	s, err := m.Objects.Secret(ctx, ns, name)
	if err != nil {
		return notFound(err, optional, "secret", name)
	}
	return project(out, s.GetData(), items, optional, def, "secret", name)
}

// project adds every key as a file, or only the listed items at their
// paths.
func project(out map[string]file, data map[string][]byte, items []*corev1.KeyToPath, optional bool, def os.FileMode, kind, name string) error {
	if len(items) == 0 {
		for k, v := range data {
			out[k] = file{data: v, mode: def}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.GetKey()]
		if !ok {
			if optional {
				continue
			}
			return fmt.Errorf("configure volume: key %q not found in %s %q", it.GetKey(), kind, name)
		}
		md := def
		if it.Mode != nil {
			md = os.FileMode(it.GetMode())
		}
		out[it.GetPath()] = file{data: v, mode: md}
	}
	return nil
}

func (m *Manager) downwardFiles(out map[string]file, pod *corev1.Pod, items []*corev1.DownwardAPIVolumeFile, podIP string, def os.FileMode) error {
	for _, it := range items {
		var v string
		switch {
		case it.GetFieldRef() != nil:
			var err error
			if v, err = downward.Field(pod, it.GetFieldRef().GetFieldPath(), podIP, m.NodeIP); err != nil {
				return err
			}
		case it.GetResourceFieldRef() != nil:
			var err error
			if v, err = downward.Resource(pod, nil, it.GetResourceFieldRef(), m.Allocatable); err != nil {
				return fmt.Errorf("file %s: %w", it.GetPath(), err)
			}
		}
		md := def
		if it.Mode != nil {
			md = os.FileMode(it.GetMode())
		}
		out[it.GetPath()] = file{data: []byte(v), mode: md}
	}
	return nil
}

func (m *Manager) tokenFile(ctx context.Context, out map[string]file, pod *corev1.Pod, t *corev1.ServiceAccountTokenProjection, def os.FileMode) error {
	if m.Tokens == nil {
		return fmt.Errorf("service account token projection: this cluster cannot issue service account tokens yet")
	}
	exp := int64(3600)
	if t.ExpirationSeconds != nil {
		exp = t.GetExpirationSeconds()
	}
	tok, err := m.Tokens.Token(ctx, pod, t.GetAudience(), exp)
	if err != nil {
		return fmt.Errorf("service account token: %w", err)
	}
	out[t.GetPath()] = file{data: []byte(tok), mode: def}
	return nil
}
