package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	nodev1 "skiff.dev/api/node/v1"
	"skiff.dev/services/apiserver/internal/field"
)

func TestValidateRuntimeClass(t *testing.T) {
	valid := func() *nodev1.RuntimeClass {
		return &nodev1.RuntimeClass{Handler: "runc",
			Overhead: &nodev1.Overhead{PodFixed: map[string]*metav1.Quantity{"cpu": {String_: "10m"}, "memory": {String_: "1Mi"}}},
			Scheduling: &nodev1.Scheduling{NodeSelector: map[string]string{"sandbox": "gvisor"},
				Tolerations: []*corev1.Toleration{{Key: "sandbox", Operator: "Exists", Effect: "NoSchedule"}}}}
	}
	expect(t, ValidateRuntimeClass(valid()))
	tests := []struct {
		name   string
		change func(*nodev1.RuntimeClass)
		want   want
	}{
		{"no handler", func(rc *nodev1.RuntimeClass) { rc.Handler = "" }, want{field.ErrorTypeInvalid, "handler"}},
		{"handler not a DNS label", func(rc *nodev1.RuntimeClass) { rc.Handler = "Run.C" }, want{field.ErrorTypeInvalid, "handler"}},
		{"negative overhead", func(rc *nodev1.RuntimeClass) { rc.Overhead.PodFixed["cpu"] = &metav1.Quantity{String_: "-1"} },
			want{field.ErrorTypeInvalid, "overhead.limits[cpu]"}},
		{"unknown resource", func(rc *nodev1.RuntimeClass) { rc.Overhead.PodFixed["gpu"] = &metav1.Quantity{String_: "1"} },
			want{field.ErrorTypeInvalid, "overhead.limits[gpu]"}},
		{"node selector value", func(rc *nodev1.RuntimeClass) { rc.Scheduling.NodeSelector["sandbox"] = "not a value" },
			want{field.ErrorTypeInvalid, "scheduling.nodeSelector"}},
		{"toleration operator", func(rc *nodev1.RuntimeClass) { rc.Scheduling.Tolerations[0].Operator = "Near" },
			want{field.ErrorTypeNotSupported, "scheduling.tolerations.tolerations[0].operator"}},
		{"duplicate toleration", func(rc *nodev1.RuntimeClass) {
			rc.Scheduling.Tolerations = append(rc.Scheduling.Tolerations, proto.Clone(rc.Scheduling.Tolerations[0]).(*corev1.Toleration))
		}, want{field.ErrorTypeDuplicate, "scheduling.tolerations[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := valid()
			tt.change(rc)
			expect(t, ValidateRuntimeClass(rc), tt.want)
		})
	}
	changed := valid()
	changed.Handler = "kata"
	expect(t, ValidateRuntimeClassUpdate(changed, valid()), want{field.ErrorTypeInvalid, "handler"})
	expect(t, ValidateRuntimeClassUpdate(valid(), valid()))
}
