package crdnames

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

func TestSetCondition(t *testing.T) {
	earlier := now.Add(-time.Hour)
	at := func(c *apiextensionsv1.CustomResourceDefinitionCondition, when *time.Time) *apiextensionsv1.CustomResourceDefinitionCondition {
		if when != nil {
			c.LastTransitionTime = timestamppb.New(*when)
		}
		return c
	}
	tests := []struct {
		name     string
		existing *apiextensionsv1.CustomResourceDefinitionCondition
		set      *apiextensionsv1.CustomResourceDefinitionCondition
		wantTime time.Time
	}{
		{"new condition", nil, condition(Established, True, "R", "m"), now},
		{"same status keeps the time", at(condition(Established, True, "Old", "old"), &earlier), condition(Established, True, "R", "m"), earlier},
		{"changed status", at(condition(Established, False, "Old", "old"), &earlier), condition(Established, True, "R", "m"), now},
		{"no time yet", at(condition(Established, True, "Old", "old"), nil), condition(Established, True, "R", "m"), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if tt.existing != nil {
				crd.Status = &apiextensionsv1.CustomResourceDefinitionStatus{
					Conditions: []*apiextensionsv1.CustomResourceDefinitionCondition{condition(NamesAccepted, True, "", ""), tt.existing}}
			}
			SetCondition(crd, tt.set, now)
			got := FindCondition(crd, Established)
			if !Equivalent(got, tt.set) {
				t.Errorf("got %v, want %v", got, tt.set)
			}
			if !got.GetLastTransitionTime().AsTime().Equal(tt.wantTime) {
				t.Errorf("got transition time %v, want %v", got.GetLastTransitionTime().AsTime(), tt.wantTime)
			}
			if tt.set.LastTransitionTime != nil {
				t.Errorf("the condition passed in was changed: %v", tt.set)
			}
			if n := len(crd.Status.Conditions); tt.existing != nil && n != 2 {
				t.Errorf("got %d conditions, want 2", n)
			}
		})
	}
}

func TestConditionQueries(t *testing.T) {
	crd := &apiextensionsv1.CustomResourceDefinition{Status: &apiextensionsv1.CustomResourceDefinitionStatus{
		Conditions: []*apiextensionsv1.CustomResourceDefinitionCondition{
			condition(Established, True, "", ""), condition(Terminating, False, "", "")}}}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"established", IsEstablished(crd), true},
		{"terminating False", IsTerminating(crd), false},
		{"names accepted missing", IsConditionTrue(crd, NamesAccepted), false},
		{"no status", IsEstablished(&apiextensionsv1.CustomResourceDefinition{}), false},
		{"equivalent ignores time", Equivalent(condition(Established, True, "", ""), crd.Status.Conditions[0]), true},
		{"nil and a condition", Equivalent(nil, crd.Status.Conditions[0]), false},
		{"two nils", Equivalent(nil, nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	RemoveCondition(crd, Established)
	if len(crd.Status.Conditions) != 1 || FindCondition(crd, Established) != nil {
		t.Errorf("got %v after removing Established, want Terminating only", crd.Status.Conditions)
	}
}
