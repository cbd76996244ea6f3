package pvlabel

import "testing"

// The provider is asked once per volume and pinned Node: again only when
// the Node turns up or changes, or the volume was deleted.
func TestAskedOncePerVolumeAndNode(t *testing.T) {
	a := newAsked()
	steps := []struct {
		op        string // ask (done, then record when not), forget
		uid, node string
		wantAsk   bool
	}{
		{op: "ask", uid: "u1", wantAsk: true},
		{op: "ask", uid: "u1", wantAsk: false},
		{op: "ask", uid: "u1", node: "node-a", wantAsk: true},
		{op: "ask", uid: "u1", node: "node-a", wantAsk: false},
		{op: "ask", uid: "u2", node: "node-a", wantAsk: true},
		{op: "forget", uid: "u1"},
		{op: "ask", uid: "u1", node: "node-a", wantAsk: true},
	}
	for i, s := range steps {
		if s.op == "forget" {
			a.forget(s.uid)
			continue
		}
		if ask := !a.done(s.uid, s.node); ask != s.wantAsk {
			t.Errorf("step %d: ask %v, want %v", i, ask, s.wantAsk)
		}
		a.record(s.uid, s.node)
	}
}
