package storageclass

import (
	"testing"

	metav1 "skiff.dev/api/meta/v1"
)

func TestIsDefault(t *testing.T) {
	tests := []struct {
		annotations map[string]string
		want        bool
	}{
		{nil, false},
		{map[string]string{DefaultAnnotation: "true"}, true},
		{map[string]string{BetaDefaultAnnotation: "true"}, true},
		{map[string]string{DefaultAnnotation: "True"}, false},
		{map[string]string{DefaultAnnotation: "false", BetaDefaultAnnotation: "true"}, true},
	}
	for _, tt := range tests {
		if got := IsDefault(&metav1.ObjectMeta{Annotations: tt.annotations}); got != tt.want {
			t.Errorf("%v: got %v, want %v", tt.annotations, got, tt.want)
		}
	}
}

func TestOf(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		spec, want  string
	}{
		{"spec only", nil, "fast", "fast"},
		{"annotation wins", map[string]string{BetaClassAnnotation: "slow"}, "fast", "slow"},
		{"empty annotation wins", map[string]string{BetaClassAnnotation: ""}, "fast", ""},
		{"neither", nil, "", ""},
	}
	for _, tt := range tests {
		if got := Of(&metav1.ObjectMeta{Annotations: tt.annotations}, tt.spec); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
