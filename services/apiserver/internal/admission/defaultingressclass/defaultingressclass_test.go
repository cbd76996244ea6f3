package defaultingressclass

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

func class(name string, created int64, isDefault string) *networkingv1.IngressClass {
	meta := &metav1.ObjectMeta{Name: name, CreationTimestamp: &timestamppb.Timestamp{Seconds: created}}
	if isDefault != "" {
		meta.Annotations = map[string]string{DefaultAnnotation: isDefault}
	}
	return &networkingv1.IngressClass{Metadata: meta}
}

func TestDefaultClass(t *testing.T) {
	tests := []struct {
		name    string
		classes []*networkingv1.IngressClass
		want    string
	}{
		{"none", nil, ""},
		{"none marked", []*networkingv1.IngressClass{class("a", 1, ""), class("b", 2, "false")}, ""},
		{"one marked", []*networkingv1.IngressClass{class("a", 1, ""), class("b", 2, "true")}, "b"},
		{"newest of two", []*networkingv1.IngressClass{class("new", 20, "true"), class("old", 10, "true")}, "new"},
		{"same second: first by name", []*networkingv1.IngressClass{class("zeta", 10, "true"), class("alpha", 10, "true")}, "alpha"},
		{"only exactly true", []*networkingv1.IngressClass{class("a", 1, "True"), class("b", 2, "yes")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultClass(tt.classes).GetMetadata().GetName()
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
