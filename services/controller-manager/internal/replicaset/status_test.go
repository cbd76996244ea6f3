package replicaset

import (
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
)

func TestFailureCondition(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	forbidden := &client.StatusError{Status: &metav1.Status{Message: `pods "web-x" is forbidden: exceeded quota: pods`}}
	wrapped := fmt.Errorf("create pod for replicaset ns/web: %w", errors.Join(forbidden, errors.New("another")))
	got := failureCondition(nil, wrapped, -2, now)
	if len(got) != 1 || got[0].GetReason() != "FailedCreate" || got[0].GetMessage() != forbidden.Error() {
		t.Fatalf("got %v, want FailedCreate with the apiserver's message %q", got, forbidden.Error())
	}
	if del := failureCondition(nil, wrapped, 3, now); del[0].GetReason() != "FailedDelete" {
		t.Errorf("too many pods: reason %q, want FailedDelete", del[0].GetReason())
	}
	kept := failureCondition(got, errors.New("other"), -1, now.Add(time.Hour))
	if len(kept) != 1 || kept[0] != got[0] {
		t.Errorf("a failure that goes on: got %v, want the condition unchanged", kept)
	}
	other := &appsv1.ReplicaSetCondition{Type: "Other", Status: "True"}
	if gone := failureCondition([]*appsv1.ReplicaSetCondition{other, got[0]}, nil, 0, now); len(gone) != 1 || gone[0] != other {
		t.Errorf("failures over: got %v, want only the other condition", gone)
	}
}
