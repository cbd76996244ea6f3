package api

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
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

// TestGenerateName100kCreates: 100,000 creates with one short
// generateName, made concurrently, all succeed with distinct names. With
// Kubernetes' 5-character random suffixes some hundreds of them draw a
// name already taken (the birthday bound: 100,000² / (2 × 27⁵) ≈ 350),
// each a 409 without the server's retry; the test counts the names
// generated to show the retries happened.
func TestGenerateName100kCreates(t *testing.T) {
	a, ctx := newTestAPI(t)
	cms := a.Backend("", "configmaps")
	var generatedNames atomic.Int64
	defer registry.SetSuffixSource(func() string {
		generatedNames.Add(1)
		return registry.RandomSuffix()
	})()
	const creates, workers = 100_000, 64
	start := time.Now()
	g, ctx := errgroup.WithContext(ctx)
	names := make([][]string, workers)
	for w := range workers {
		g.Go(func() error {
			for i := w; i < creates; i += workers {
				out, err := cms.Create(ctx, configMap(&metav1.ObjectMeta{GenerateName: "g-", Namespace: "default"}), registry.CreateOptions{})
				if err != nil {
					return fmt.Errorf("create %d: %w", i, err)
				}
				names[w] = append(names[w], object.Meta(out).GetName())
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool, creates)
	for _, ns := range names {
		for _, n := range ns {
			if seen[n] {
				t.Fatalf("name %s given twice", n)
			}
			seen[n] = true
		}
	}
	if len(seen) != creates {
		t.Fatalf("%d objects created, want %d", len(seen), creates)
	}
	retried := generatedNames.Load() - creates
	t.Logf("%d creates in %v; %d generated names were taken and generated again", creates, time.Since(start), retried)
	if retried == 0 {
		// About 350 are expected; none at all has odds of about e^-350.
		t.Fatal("no generated name collided: the retry was not exercised")
	}
}
