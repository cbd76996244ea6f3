package pvlabel

import "sync"

// asked remembers, per volume uid, the pinned Node (its name, "" for
// none) the provider was last asked about, so a volume is labelled once
// and not for each of its updates (phase, claimRef, finalizers); it is
// asked again only when the Node it is pinned to turns up or changes.
// The zero value is ready to use.
type asked struct {
	mu   sync.Mutex
	node map[string]string
}

// done reports whether the provider was asked about the volume with node.
func (a *asked) done(uid, node string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.node[uid]
	return ok && n == node
}

// record notes the volume labelled with node.
func (a *asked) record(uid, node string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.node == nil {
		a.node = map[string]string{}
	}
	a.node[uid] = node
}

// reset forgets every volume: a new term asks the provider afresh.
func (a *asked) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.node)
}

// forget drops a deleted volume.
func (a *asked) forget(uid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.node, uid)
}
