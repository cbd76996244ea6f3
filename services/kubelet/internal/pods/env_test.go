package pods

import (
	"context"
	"strings"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "1"},
		{"x$(A)y$(B)z", "x1ytwoz"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"cost $5", "cost $5"},
		{"open $(A", "open $(A"},
		{"end $", "end $"},
	} {
		if got := expand(tc.in, vars); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// objects is a hand-written ConfigMap/Secret store for env tests.
type objects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func notFound() error {
	return &client.StatusError{Status: &metav1.Status{Reason: "NotFound", Code: 404}}
}

func (o objects) ConfigMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if cm, ok := o.cms[name]; ok {
		return cm, nil
	}
	return nil, notFound()
}

func (o objects) Secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := o.secrets[name]; ok {
		return s, nil
	}
	return nil, notFound()
}

func TestEnvironment(t *testing.T) {
	m := &Manager{cfg: Config{NodeIP: "10.0.0.9"}, objects: objects{
		cms:     map[string]*corev1.ConfigMap{"cm": {Data: map[string]string{"a": "from-cm", "b": "b-cm"}}},
		secrets: map[string]*corev1.Secret{"s": {Data: map[string][]byte{"pw": []byte("hunter2")}}},
	}}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "x"}}}
	spec := &corev1.Container{
		EnvFrom: []*corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: &corev1.LocalObjectReference{Name: "cm"}}}},
		Env: []*corev1.EnvVar{
			{Name: "CM_a", Value: "overridden"},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: &corev1.LocalObjectReference{Name: "s"}, Key: "pw"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "HOST", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
			{Name: "MSG", Value: "$(PW)@$(HOST)"},
		},
	}
	env, err := m.environment(context.Background(), pod, spec, "10.1.1.1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range env {
		got = append(got, kv.GetKey()+"="+string(kv.GetValue()))
	}
	want := "CM_a=overridden CM_b=b-cm PW=hunter2 APP=x HOST=10.0.0.9 MSG=hunter2@10.0.0.9"
	// envFrom keys come in map order; compare as sets with env order after.
	if gs := strings.Join(got, " "); !sameWords(gs, want) || !strings.HasSuffix(gs, "PW=hunter2 APP=x HOST=10.0.0.9 MSG=hunter2@10.0.0.9") {
		t.Errorf("environment %q, want %q", gs, want)
	}

	missingKey := &corev1.Container{Env: []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
		ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: &corev1.LocalObjectReference{Name: "cm"}, Key: "nope"}}}}}
	if _, err := m.environment(context.Background(), pod, missingKey, ""); err == nil || !strings.Contains(err.Error(), "couldn't find key nope in ConfigMap ns/cm") {
		t.Errorf("missing key: %v", err)
	}
	optional := true
	missingCM := &corev1.Container{Env: []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
		ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: &corev1.LocalObjectReference{Name: "gone"}, Key: "k", Optional: &optional}}}}}
	if env, err := m.environment(context.Background(), pod, missingCM, ""); err != nil || len(env) != 0 {
		t.Errorf("optional missing configmap: %v %v, want no variable and no error", env, err)
	}
	missingCM.Env[0].ValueFrom.ConfigMapKeyRef.Optional = nil
	if _, err := m.environment(context.Background(), pod, missingCM, ""); err == nil || !strings.Contains(err.Error(), `configmap "gone" not found`) {
		t.Errorf("missing configmap: %v", err)
	}
}

func sameWords(a, b string) bool {
	wa, wb := strings.Fields(a), strings.Fields(b)
	if len(wa) != len(wb) {
		return false
	}
	seen := map[string]int{}
	for _, w := range wa {
		seen[w]++
	}
	for _, w := range wb {
		seen[w]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

type services map[string][]*corev1.Service

func (s services) Services(ns string) []*corev1.Service { return s[ns] }

func TestServiceEnv(t *testing.T) {
	svc := func(ns, name, ip string, ports ...*corev1.ServicePort) *corev1.Service {
		return &corev1.Service{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: &corev1.ServiceSpec{ClusterIp: ip, Ports: ports}}
	}
	port := func(name string, n int32) *corev1.ServicePort {
		return &corev1.ServicePort{Name: name, Port: n, Protocol: "TCP"}
	}
	svcs := services{
		"default": {svc("default", "kubernetes", "10.96.0.1", port("https", 443))},
		"ns":      {svc("ns", "my-db", "10.96.0.7", port("", 5432)), svc("ns", "headless", "None", port("", 80))},
	}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns"}, Spec: &corev1.PodSpec{}}
	got := map[string]string{}
	for _, kv := range serviceEnv(pod, svcs) {
		got[kv[0]] = kv[1]
	}
	for k, v := range map[string]string{
		"MY_DB_SERVICE_HOST": "10.96.0.7", "MY_DB_SERVICE_PORT": "5432", "MY_DB_PORT": "tcp://10.96.0.7:5432",
		"MY_DB_PORT_5432_TCP_ADDR": "10.96.0.7", "MY_DB_PORT_5432_TCP_PROTO": "tcp",
		"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT_HTTPS": "443",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["HEADLESS_SERVICE_HOST"]; ok {
		t.Errorf("a headless Service got variables")
	}
	off := false
	pod.Spec.EnableServiceLinks = &off
	for _, kv := range serviceEnv(pod, svcs) {
		if strings.HasPrefix(kv[0], "MY_DB") {
			t.Errorf("enableServiceLinks=false still gave %s", kv[0])
		}
	}
}
