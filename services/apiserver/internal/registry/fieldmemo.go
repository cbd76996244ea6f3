package registry

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/fields"
)

// fieldMemo keeps the field sets of the last few objects matched. Objects
// in the watch cache are never changed in place, so an object's pointer
// names its content; a change is matched against every watcher's selector
// in turn, so the same two objects (new and previous) come again and again.
type fieldMemo struct {
	mu   sync.Mutex
	objs [4]proto.Message
	sets [4]fields.Set
	next int
}

// get returns obj's field set, computing it if obj is not one of the last
// few.
func (m *fieldMemo) get(obj proto.Message, compute func() fields.Set) fields.Set {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, o := range m.objs {
		if o == obj {
			return m.sets[i]
		}
	}
	set := compute()
	m.objs[m.next], m.sets[m.next] = obj, set
	m.next = (m.next + 1) % len(m.objs)
	return set
}
