//go:build !race

package api

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestGenerateName100kCreates: 100,000 creates with one short
// generateName, made concurrently, all succeed with distinct names. With
// Kubernetes' 5-character random suffixes some hundreds of them draw a
// name already taken (the birthday bound: 100,000² / (2 × 27⁵) ≈ 350),
// each a 409 without the server's retry; the test counts the names
// generated to show the retries happened. It is built without the race
// detector only (under it the run takes three times as long for no more
// coverage than TestGenerateNameRetriesTakenNames gives); `make test`
// runs it in a step of its own.
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
