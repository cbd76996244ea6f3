package controller

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
)

// ReadySince is when the pod turned Ready, or nil if it is not: its Ready
// condition's lastTransitionTime (the zero time when that is unset).
func ReadySince(p *corev1.Pod) *timestamppb.Timestamp {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			if c.GetStatus() != "True" {
				return nil
			}
			if t := c.GetLastTransitionTime(); t != nil {
				return t
			}
			return timestamppb.New(time.Time{})
		}
	}
	return nil
}
