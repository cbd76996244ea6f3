package nodelifecycle

import (
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
)

func TestTolerates(t *testing.T) {
	added := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	secs := func(n int64) *int64 { return &n }
	pod := func(tols ...*corev1.Toleration) *corev1.Pod {
		return &corev1.Pod{Spec: &corev1.PodSpec{Tolerations: tols}}
	}
	for name, c := range map[string]struct {
		pod   *corev1.Pod
		key   string
		after time.Duration
		want  bool
	}{
		"no toleration":            {pod(), TaintUnreachable, 0, false},
		"within its seconds":       {pod(&corev1.Toleration{Key: TaintUnreachable, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: secs(300)}), TaintUnreachable, 299 * time.Second, true},
		"after its seconds":        {pod(&corev1.Toleration{Key: TaintUnreachable, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: secs(300)}), TaintUnreachable, 301 * time.Second, false},
		"forever":                  {pod(&corev1.Toleration{Key: TaintUnreachable, Operator: "Exists"}), TaintUnreachable, 24 * time.Hour, true},
		"another key":              {pod(&corev1.Toleration{Key: TaintNotReady, Operator: "Exists", Effect: "NoExecute"}), TaintUnreachable, 0, false},
		"wildcard":                 {pod(&corev1.Toleration{Operator: "Exists"}), TaintNotReady, time.Hour, true},
		"NoSchedule does not help": {pod(&corev1.Toleration{Key: TaintNotReady, Operator: "Exists", Effect: "NoSchedule"}), TaintNotReady, 0, false},
	} {
		if got := Tolerates(c.pod, c.key, added, added.Add(c.after)); got != c.want {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
	}
}
