package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/services/apiserver/internal/field"
)

func TestValidatePriorityClass(t *testing.T) {
	valid := func() *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{Metadata: &metav1.ObjectMeta{Name: "high"}, Value: 1000,
			PreemptionPolicy: proto.String("PreemptLowerPriority")}
	}
	expect(t, ValidatePriorityClass(valid()))
	tests := []struct {
		name   string
		change func(*schedulingv1.PriorityClass)
		want   want
	}{
		{"user value above the limit", func(pc *schedulingv1.PriorityClass) { pc.Value = 1000000001 }, want{field.ErrorTypeForbidden, "value"}},
		{"reserved prefix", func(pc *schedulingv1.PriorityClass) { pc.Metadata.Name = "system-mine" }, want{field.ErrorTypeForbidden, "metadata.name"}},
		{"system class with another value", func(pc *schedulingv1.PriorityClass) {
			pc.Metadata.Name, pc.Value = "system-node-critical", 5
		}, want{field.ErrorTypeForbidden, "metadata.name"}},
		{"system class as global default", func(pc *schedulingv1.PriorityClass) {
			pc.Metadata.Name, pc.Value, pc.GlobalDefault = "system-cluster-critical", 2000000000, true
		}, want{field.ErrorTypeForbidden, "metadata.name"}},
		{"unknown policy", func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = proto.String("Sometimes") },
			want{field.ErrorTypeNotSupported, "preemptionPolicy"}},
		{"empty policy", func(pc *schedulingv1.PriorityClass) { pc.PreemptionPolicy = proto.String("") },
			want{field.ErrorTypeRequired, "preemptionPolicy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := valid()
			tt.change(pc)
			expect(t, ValidatePriorityClass(pc), tt.want)
		})
	}
	system := &schedulingv1.PriorityClass{Metadata: &metav1.ObjectMeta{Name: "system-node-critical"}, Value: 2000001000}
	expect(t, ValidatePriorityClass(system))
	expectMessages(t, ValidatePriorityClass(&schedulingv1.PriorityClass{Metadata: &metav1.ObjectMeta{Name: "system-x"}}),
		"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-x is not a known system priority class")

	changed := valid()
	changed.Value = 7
	expect(t, ValidatePriorityClassUpdate(changed, valid()), want{field.ErrorTypeForbidden, "value"})
	changed = valid()
	changed.PreemptionPolicy = proto.String("Never")
	expect(t, ValidatePriorityClassUpdate(changed, valid()), want{field.ErrorTypeInvalid, "preemptionPolicy"})
	changed = valid()
	changed.GlobalDefault, changed.Description = true, "now the default"
	expect(t, ValidatePriorityClassUpdate(changed, valid()))
}
