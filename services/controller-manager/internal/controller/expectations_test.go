package controller

import "testing"

func TestExpectations(t *testing.T) {
	e := NewExpectations()
	if !e.Satisfied("rs") {
		t.Fatal("nothing expected, yet unsatisfied")
	}
	e.ExpectCreates("rs", 2)
	e.CreationObserved("rs")
	if e.Satisfied("rs") {
		t.Fatal("satisfied after one of two creates")
	}
	e.CreationObserved("rs")
	e.CreationObserved("rs") // an extra event does not go negative in effect
	if !e.Satisfied("rs") {
		t.Fatal("unsatisfied after both creates")
	}
	e.ExpectDeletes("rs", []string{"ns/a", "ns/b"})
	e.DeletionObserved("rs", "ns/a")
	e.DeletionObserved("rs", "ns/a") // the same deletion seen twice counts once
	if e.Satisfied("rs") {
		t.Fatal("satisfied with ns/b not yet deleted")
	}
	e.DeletionObserved("rs", "ns/b")
	if !e.Satisfied("rs") {
		t.Fatal("unsatisfied after both deletes")
	}
	e.ExpectCreates("other", 1)
	e.Forget("other")
	if !e.Satisfied("other") {
		t.Fatal("forgotten expectations still hold")
	}
}
