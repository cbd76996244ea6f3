package fieldmanager

import (
	"reflect"
	"testing"
	"time"
)

// step is one write: an apply of body, or an update writing body.
type step struct {
	apply       bool
	manager     string
	subresource string
	force       bool
	body        string
	at          time.Time
}

func applyBy(manager, body string, at time.Time) step {
	return step{apply: true, manager: manager, body: body, at: at}
}

func updateBy(manager, body string, at time.Time) step {
	return step{manager: manager, body: body, at: at}
}

// run makes the writes in order from no object and returns the last
// result, failing on an error before the last step. Inputs must come out
// unchanged.
func run(t *testing.T, m *Manager, steps []step) (map[string]any, error) {
	t.Helper()
	var cur map[string]any
	for i, s := range steps {
		body := obj(t, s.body)
		liveBefore, bodyBefore := copyObject(cur), copyObject(body)
		var next map[string]any
		var err error
		if s.apply {
			next, err = m.Apply(cur, body, s.manager, s.subresource, s.force, s.at)
		} else {
			next, err = m.Update(cur, body, s.manager, s.subresource, s.at)
		}
		if !reflect.DeepEqual(cur, liveBefore) || !reflect.DeepEqual(body, bodyBefore) {
			t.Fatalf("step %d changed its inputs", i)
		}
		if i == len(steps)-1 {
			return next, err
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		cur = next
	}
	return cur, nil
}
