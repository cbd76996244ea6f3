package garbagecollector

import (
	"reflect"
	"testing"

	metav1 "skiff.dev/api/meta/v1"
)

func TestDecide(t *testing.T) {
	ref := func(uid string, block bool) *metav1.OwnerReference {
		return &metav1.OwnerReference{Kind: "Pod", Name: uid, Uid: uid, BlockOwnerDeletion: &block}
	}
	cases := []struct {
		name             string
		refs             []*metav1.OwnerReference
		states           map[string]ownerState
		dependents       int
		dependentWaiting bool
		finalizers       []string
		want             step
	}{
		{name: "no owners", want: step{}},
		{name: "owner exists", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": solid}, want: step{}},
		{name: "owner gone", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": dangling}, want: step{policy: "Background"}},
		{name: "one of two owners gone", refs: []*metav1.OwnerReference{ref("a", true), ref("b", false)},
			states: map[string]ownerState{"a": dangling, "b": solid}, want: step{drop: []string{"a"}}},
		{name: "another owner stays while one waits", refs: []*metav1.OwnerReference{ref("a", true), ref("b", false)},
			states: map[string]ownerState{"a": waiting, "b": solid}, want: step{drop: []string{"a"}}},
		{name: "waiting owner, no dependents", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": waiting}, want: step{policy: "Background"}},
		{name: "waiting owner, dependents: the wait runs down", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": waiting}, dependents: 2, want: step{policy: "Foreground"}},
		{name: "waiting owner and a waiting dependent: a cycle is broken", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": waiting}, dependents: 1, dependentWaiting: true,
			want: step{unblock: true, policy: "Foreground"}},
		{name: "a cycle through references that do not block", refs: []*metav1.OwnerReference{ref("a", false)},
			states: map[string]ownerState{"a": waiting}, dependents: 1, dependentWaiting: true,
			want: step{policy: "Foreground"}},
		{name: "owners gone keeps an orphan finalizer", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": dangling}, dependents: 1, finalizers: []string{FinalizerOrphan},
			want: step{policy: "Orphan"}},
		{name: "owners gone keeps a foreground finalizer", refs: []*metav1.OwnerReference{ref("a", true)},
			states: map[string]ownerState{"a": dangling}, finalizers: []string{FinalizerForeground},
			want: step{policy: "Foreground"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.refs, tc.states, tc.dependents, tc.dependentWaiting, tc.finalizers)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
