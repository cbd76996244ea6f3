package pods

import (
	"os"
	"path/filepath"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestNextRestartCount(t *testing.T) {
	instance := func(attempt uint32, annotation string) *runtimeapi.Container {
		c := &runtimeapi.Container{Metadata: &runtimeapi.ContainerMetadata{Name: "c", Attempt: attempt}}
		if annotation != "" {
			c.Annotations = map[string]string{annotationRestartCount: annotation}
		}
		return c
	}
	tests := []struct {
		name       string
		containers []*runtimeapi.Container
		logs       []string
		want       uint32
	}{
		{name: "first start", want: 0},
		{name: "after the newest instance's annotation", containers: []*runtimeapi.Container{instance(3, "7")}, logs: []string{"9.log"}, want: 8},
		{name: "after the newest instance's attempt", containers: []*runtimeapi.Container{instance(3, "")}, want: 4},
		{name: "no instance left: after the newest log", logs: []string{"0.log", "4.log", "12.log.20260101-000000", "x.log"}, want: 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{cfg: Config{RootDir: t.TempDir()}}
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "p", Uid: "u"}}
			dir := filepath.Join(m.logDir(pod), "c")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range tt.logs {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := m.nextRestartCount(pod, &podState{containers: tt.containers}, "c"); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
