package api

import (
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// suffixes returns the given suffixes in turn, then the last one forever,
// and counts the calls.
func suffixes(calls *atomic.Int32, list ...string) func() string {
	return func() string {
		i := int(calls.Add(1)) - 1
		return list[min(i, len(list)-1)]
	}
}

func service(meta *metav1.ObjectMeta) *corev1.Service {
	return &corev1.Service{Metadata: meta, Spec: &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Port: 80}}}}
}

func configMap(meta *metav1.ObjectMeta) *corev1.ConfigMap { return &corev1.ConfigMap{Metadata: meta} }

// TestGenerateNameRetriesTakenNames: a generated name already taken is
// generated again, up to 8 times as Kubernetes' RetryGenerateName; only
// when all 8 are taken does the create answer AlreadyExists. Services
// (whose backend allocates before storing) are retried the same way.
func TestGenerateNameRetriesTakenNames(t *testing.T) {
	a, ctx := newTestAPI(t)
	cms, svcs := a.Backend("", "configmaps"), a.Backend("", "services")
	taken := &metav1.ObjectMeta{Name: "gen-bbbbb", Namespace: "default"}
	if _, err := cms.Create(ctx, configMap(taken), registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, service(taken), registry.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := func(m *metav1.ObjectMeta) proto.Message { return configMap(m) }
	svc := func(m *metav1.ObjectMeta) proto.Message { return service(m) }
	tests := []struct {
		name      string
		backend   registry.Backend
		obj       func(*metav1.ObjectMeta) proto.Message
		suffixes  []string
		wantName  string // "" for AlreadyExists
		wantCalls int32
	}{
		{name: "ConfigMap taken 7 times", backend: cms, obj: cm,
			suffixes: []string{"bbbbb", "bbbbb", "bbbbb", "bbbbb", "bbbbb", "bbbbb", "bbbbb", "ccccc"}, wantName: "gen-ccccc", wantCalls: 8},
		{name: "ConfigMap taken 8 times", backend: cms, obj: cm, suffixes: []string{"bbbbb"}, wantCalls: registry.MaxGenerateNameAttempts},
		{name: "Service taken once", backend: svcs, obj: svc, suffixes: []string{"bbbbb", "ddddd"}, wantName: "gen-ddddd", wantCalls: 2},
		{name: "Service taken 8 times", backend: svcs, obj: svc, suffixes: []string{"bbbbb"}, wantCalls: registry.MaxGenerateNameAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			defer registry.SetSuffixSource(suffixes(&calls, tt.suffixes...))()
			out, err := tt.backend.Create(ctx, tt.obj(&metav1.ObjectMeta{GenerateName: "gen-", Namespace: "default"}), registry.CreateOptions{})
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("names generated: %d, want %d", got, tt.wantCalls)
			}
			if tt.wantName == "" {
				if !apierrors.IsAlreadyExists(err) {
					t.Fatalf("got %v, want AlreadyExists once every attempt is taken", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := object.Meta(out).GetName(); got != tt.wantName {
				t.Errorf("name %q, want %q", got, tt.wantName)
			}
		})
	}
}
