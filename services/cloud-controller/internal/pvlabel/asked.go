package pvlabel

import "sync"

// asked remembers, per volume uid, the pinned Node (its name, "" for
// none) the provider was last asked about, so a volume is labelled once
// and not for each of its updates (phase, claimRef, finalizers); it is
// asked again only when the Node it is pinned to turns up or changes.
type asked struct {
	mu   sync.Mutex
	node map[string]string
}

func newAsked() *asked { return &asked{node: map[string]string{}} }

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
	a.node[uid] = node
}

// forget drops a deleted volume.
func (a *asked) forget(uid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.node, uid)
}
