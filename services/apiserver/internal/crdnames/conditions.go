package crdnames

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// The condition types of a CustomResourceDefinition.
const (
	// Established: the API serves the definition's resource.
	Established = "Established"
	// NamesAccepted: no other definition of the group holds its names.
	NamesAccepted = "NamesAccepted"
	// Terminating: the definition is being deleted with its objects.
	Terminating = "Terminating"
)

// The statuses of a condition.
const (
	True    = "True"
	False   = "False"
	Unknown = "Unknown"
)

// FindCondition is crd's condition of type typ, or nil.
func FindCondition(crd *apiextensionsv1.CustomResourceDefinition, typ string) *apiextensionsv1.CustomResourceDefinitionCondition {
	for _, c := range crd.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// IsConditionTrue reports whether crd has the condition typ with status
// True.
func IsConditionTrue(crd *apiextensionsv1.CustomResourceDefinition, typ string) bool {
	return FindCondition(crd, typ).GetStatus() == True
}

// IsEstablished reports whether crd is served: Established is True.
func IsEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	return IsConditionTrue(crd, Established)
}

// IsTerminating reports whether crd is being deleted with its objects,
// when no new objects of its kind may be created: Terminating is True.
func IsTerminating(crd *apiextensionsv1.CustomResourceDefinition) bool {
	return IsConditionTrue(crd, Terminating)
}

// SetCondition adds cond to crd's status or replaces the condition of its
// type. The transition time becomes now when the condition is new, its
// status changes or it had none; otherwise the old one stays, as with
// Kubernetes' SetCRDCondition. cond itself is not changed.
func SetCondition(crd *apiextensionsv1.CustomResourceDefinition, cond *apiextensionsv1.CustomResourceDefinitionCondition, now time.Time) {
	if crd.Status == nil {
		crd.Status = &apiextensionsv1.CustomResourceDefinitionStatus{}
	}
	old := FindCondition(crd, cond.GetType())
	if old == nil {
		c := proto.Clone(cond).(*apiextensionsv1.CustomResourceDefinitionCondition)
		c.LastTransitionTime = timestamppb.New(now)
		crd.Status.Conditions = append(crd.Status.Conditions, c)
		return
	}
	if old.GetStatus() != cond.GetStatus() || isZero(old.GetLastTransitionTime()) {
		old.LastTransitionTime = timestamppb.New(now)
	}
	old.Status = cond.GetStatus()
	old.Reason = cond.GetReason()
	old.Message = cond.GetMessage()
}

// RemoveCondition drops crd's condition of type typ.
func RemoveCondition(crd *apiextensionsv1.CustomResourceDefinition, typ string) {
	if crd.Status == nil {
		return
	}
	var kept []*apiextensionsv1.CustomResourceDefinitionCondition
	for _, c := range crd.Status.Conditions {
		if c.GetType() != typ {
			kept = append(kept, c)
		}
	}
	crd.Status.Conditions = kept
}

// Equivalent reports whether two conditions say the same, their
// transition times aside; two nil conditions are equivalent.
func Equivalent(a, b *apiextensionsv1.CustomResourceDefinitionCondition) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.GetType() == b.GetType() && a.GetStatus() == b.GetStatus() &&
		a.GetReason() == b.GetReason() && a.GetMessage() == b.GetMessage()
}

// isZero: no time, as Kubernetes' zero metav1.Time.
func isZero(t *timestamppb.Timestamp) bool {
	return t == nil || t.AsTime().IsZero()
}

func condition(typ, status, reason, message string) *apiextensionsv1.CustomResourceDefinitionCondition {
	return &apiextensionsv1.CustomResourceDefinitionCondition{Type: typ, Status: status, Reason: reason, Message: message}
}
