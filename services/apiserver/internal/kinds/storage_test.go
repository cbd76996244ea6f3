package kinds

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
)

// TestStampPhaseTransition: a status write stamps lastPhaseTransitionTime
// only when the phase changes and the writer did not set a new time; else
// what was sent is stored, or the old time when nothing was sent. An
// unset phase is Pending, as defaulting makes it.
func TestStampPhaseTransition(t *testing.T) {
	before := timestamppb.New(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	sent := timestamppb.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name             string
		oldPhase, phase  string
		sentTime, wanted *timestamppb.Timestamp
		wantNow          bool
	}{
		{"same phase, no time: kept", "Bound", "Bound", nil, before, false},
		{"same phase, a time sent: stored", "Bound", "Bound", sent, sent, false},
		{"phase changed, no time: now", "Available", "Bound", nil, nil, true},
		{"phase changed, old time sent: now", "Available", "Bound", before, nil, true},
		{"phase changed, new time sent: stored", "Available", "Bound", sent, sent, false},
		{"unset phase is Pending: kept", "Pending", "", nil, before, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := &corev1.PersistentVolume{Status: &corev1.PersistentVolumeStatus{Phase: tt.oldPhase, LastPhaseTransitionTime: before}}
			pv := &corev1.PersistentVolume{Status: &corev1.PersistentVolumeStatus{Phase: tt.phase, LastPhaseTransitionTime: proto.CloneOf(tt.sentTime)}}
			start := time.Now().Truncate(time.Second)
			stampPhaseTransition(pv, old)
			got := pv.GetStatus().GetLastPhaseTransitionTime()
			switch {
			case tt.wantNow && got.AsTime().Before(start):
				t.Errorf("got %v, want now", got.AsTime())
			case !tt.wantNow && !proto.Equal(got, tt.wanted):
				t.Errorf("got %v, want %v", got.AsTime(), tt.wanted.AsTime())
			}
		})
	}
}

// A status write of a PersistentVolume checks only its metadata, as
// Kubernetes' status strategy, so a volume stored before a rule tightened
// can still have its status written.
func TestPersistentVolumeStatusChecksMetaOnly(t *testing.T) {
	if !persistentVolumeStrategy.StatusChecksMetaOnly {
		t.Error("PersistentVolume status writes run the full validation")
	}
}
