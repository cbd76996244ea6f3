package pods

import (
	"context"
	"fmt"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/kubelet/internal/downward"
)

// Objects reads the ConfigMaps and Secrets pods refer to.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// environment is the container's environment as Kubernetes builds it:
// envFrom sources in order, then env entries (later ones win), with
// $(VAR) references to earlier variables expanded.
func (m *Manager) environment(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, podIP string) ([]*runtimeapi.KeyValue, error) {
	ns := pod.GetMetadata().GetNamespace()
	var order []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range serviceEnv(pod, m.services) {
		set(kv[0], kv[1])
	}
	for _, from := range spec.GetEnvFrom() {
		data, err := m.envFromData(ctx, ns, from)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			if k = from.GetPrefix() + k; k != "" && !strings.Contains(k, "=") {
				set(k, v)
			}
		}
	}
	for _, e := range spec.GetEnv() {
		if e.GetValueFrom() == nil {
			set(e.GetName(), expand(e.GetValue(), vals))
			continue
		}
		v, ok, err := m.envValueFrom(ctx, pod, spec, e.GetValueFrom(), podIP)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.GetName(), err)
		}
		if ok {
			set(e.GetName(), v)
		}
	}
	out := make([]*runtimeapi.KeyValue, 0, len(order))
	for _, k := range order {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(vals[k])})
	}
	return out, nil
}

func (m *Manager) envFromData(ctx context.Context, ns string, from *corev1.EnvFromSource) (map[string]string, error) {
	if ref := from.GetConfigMapRef(); ref != nil {
		name := ref.GetLocalObjectReference().GetName()
		cm, err := m.objects.ConfigMap(ctx, ns, name)
		if err != nil {
			return nil, missing(err, ref.GetOptional(), "configmap", ns, name)
		}
		return cm.GetData(), nil
	}
	if ref := from.GetSecretRef(); ref != nil {
		name := ref.GetLocalObjectReference().GetName()
		s, err := m.objects.Secret(ctx, ns, name)
		if err != nil {
			return nil, missing(err, ref.GetOptional(), "secret", ns, name)
		}
		out := map[string]string{}
		for k, v := range s.GetData() {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// missing turns a failed read into the error Kubernetes reports, or into
// nothing when the reference is optional.
func missing(err error, optional bool, kind, ns, name string) error {
	if client.IsNotFound(err) {
		if optional {
			return nil
		}
		return fmt.Errorf("%s %q not found", kind, name)
	}
	return fmt.Errorf("read %s %s/%s: %w", kind, ns, name, err)
}

func (m *Manager) envValueFrom(ctx context.Context, pod *corev1.Pod, spec *corev1.Container, src *corev1.EnvVarSource, podIP string) (string, bool, error) {
	ns := pod.GetMetadata().GetNamespace()
	switch {
	case src.GetFieldRef() != nil:
		v, err := downward.Field(pod, src.GetFieldRef().GetFieldPath(), podIP, m.cfg.NodeIP)
		return v, err == nil, err
	case src.GetResourceFieldRef() != nil:
		v, err := downward.Resource(pod, spec, src.GetResourceFieldRef(), m.cfg.Allocatable)
		return v, err == nil, err
	case src.GetConfigMapKeyRef() != nil:
		ref := src.GetConfigMapKeyRef()
		name := ref.GetLocalObjectReference().GetName()
		cm, err := m.objects.ConfigMap(ctx, ns, name)
		if err != nil {
			return "", false, missing(err, ref.GetOptional(), "configmap", ns, name)
		}
		if v, ok := cm.GetData()[ref.GetKey()]; ok {
			return v, true, nil
		}
		if ref.GetOptional() {
			return "", false, nil
		}
		return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.GetKey(), ns, name)
	case src.GetSecretKeyRef() != nil:
		ref := src.GetSecretKeyRef()
		name := ref.GetLocalObjectReference().GetName()
		s, err := m.objects.Secret(ctx, ns, name)
		if err != nil {
			return "", false, missing(err, ref.GetOptional(), "secret", ns, name)
		}
		if v, ok := s.GetData()[ref.GetKey()]; ok {
			return string(v), true, nil
		}
		if ref.GetOptional() {
			return "", false, nil
		}
		return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.GetKey(), ns, name)
	}
	return "", false, nil
}

// expand replaces $(VAR) with VAR's value where it is defined; $$ is a
// literal $.
func expand(s string, vars map[string]string) string {
	return expandFunc(s, func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

// expandFunc replaces $(VAR) with what lookup gives for VAR, leaving the
// reference as it is where lookup knows none; $$ is a literal $.
func expandFunc(s string, lookup func(name string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func expandAll(list []string, vars map[string]string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = expand(s, vars)
	}
	return out
}
