// Package cache is the scheduler's view of the cluster: every node and
// the pods on it, including pods the scheduler has assumed onto a node
// but whose binding has not been seen yet, so two decisions made before
// a bind lands never book the same room twice.
package cache

import (
	"sort"
	"sync"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/clock"
	"skiff.dev/services/scheduler/internal/framework"
)

// assumed is a pod placed by the scheduler and not yet confirmed.
type assumed struct {
	pod *corev1.Pod
	// deadline, once the bind finished, is when an unconfirmed pod is
	// dropped (its binding was lost).
	deadline time.Time
	bound    bool
}

// Cache holds nodes and pods. It is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	clock    clock.Clock
	ttl      time.Duration
	nodes    map[string]*framework.NodeInfo
	podNode  map[string]string // pod uid -> node name
	assumed  map[string]*assumed
	orphaned map[string]map[string]*corev1.Pod // pods on nodes not seen yet
	// snap is the last snapshot, sorted by name, and where each node sits
	// in it. A node is copied again only when it changed (dirty), and the
	// list rebuilt only when nodes come or go, so taking a snapshot costs
	// what changed since the last one.
	snap      []*framework.NodeInfo
	snapIndex map[string]int
	dirty     map[string]struct{}
	rebuild   bool
	// nodeVersion moves whenever a Node object is added, replaced or
	// removed (not when pods come and go).
	nodeVersion int64
}

// New builds an empty cache; an assumed pod whose bind finished but was
// never confirmed is dropped after ttl.
func New(c clock.Clock, ttl time.Duration) *Cache {
	if c == nil {
		c = clock.Real{}
	}
	return &Cache{clock: c, ttl: ttl, nodes: map[string]*framework.NodeInfo{}, podNode: map[string]string{},
		assumed: map[string]*assumed{}, orphaned: map[string]map[string]*corev1.Pod{}, dirty: map[string]struct{}{}}
}

func uid(p *corev1.Pod) string { return p.GetMetadata().GetUid() }

// touch marks a node for copying into the next snapshot.
func (c *Cache) touch(n *framework.NodeInfo) {
	c.dirty[n.Name()] = struct{}{}
}

// SetNode adds or updates a node.
func (c *Cache) SetNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := node.GetMetadata().GetName()
	n, ok := c.nodes[name]
	if !ok {
		n = framework.NewNodeInfo(node)
		c.nodes[name] = n
		c.rebuild = true
		c.nodeVersion++
		for _, p := range c.orphaned[name] {
			n.AddPod(p)
		}
		delete(c.orphaned, name)
	} else {
		n.Node = node
		c.nodeVersion++
		n.Allocatable = framework.ResourceList(node.GetStatus().GetAllocatable())
	}
	c.touch(n)
}

// RemoveNode forgets a node (its pods stay counted if it comes back).
func (c *Cache) RemoveNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[name]; ok {
		if len(n.Pods) > 0 {
			c.orphaned[name] = map[string]*corev1.Pod{}
			for _, p := range n.Pods {
				c.orphaned[name][uid(p)] = p
			}
		}
		delete(c.nodes, name)
		c.rebuild = true
		c.nodeVersion++
	}
}

// SetPod records a bound pod (from the informer); it confirms an assumed
// pod.
func (c *Cache) SetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.assumed, uid(pod))
	c.removeLocked(uid(pod))
	if pod.GetSpec().GetNodeName() == "" || terminal(pod) {
		return
	}
	c.addLocked(pod)
}

func terminal(p *corev1.Pod) bool {
	ph := p.GetStatus().GetPhase()
	return ph == "Succeeded" || ph == "Failed"
}

// RemovePod forgets a pod.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.assumed, uid(pod))
	c.removeLocked(uid(pod))
}

func (c *Cache) addLocked(pod *corev1.Pod) {
	name := pod.GetSpec().GetNodeName()
	c.podNode[uid(pod)] = name
	if n, ok := c.nodes[name]; ok {
		n.AddPod(pod)
		c.touch(n)
		return
	}
	if c.orphaned[name] == nil {
		c.orphaned[name] = map[string]*corev1.Pod{}
	}
	c.orphaned[name][uid(pod)] = pod
}

func (c *Cache) removeLocked(id string) {
	name, ok := c.podNode[id]
	if !ok {
		return
	}
	delete(c.podNode, id)
	if n, ok := c.nodes[name]; ok && n.RemovePod(id) {
		c.touch(n)
	}
	delete(c.orphaned[name], id)
}

// Assume counts pod (whose spec.nodeName is set to the chosen node) on its
// node before the binding lands.
func (c *Cache) Assume(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(uid(pod))
	c.assumed[uid(pod)] = &assumed{pod: pod}
	c.addLocked(pod)
}

// FinishBinding starts the clock on an assumed pod: if the informer does
// not confirm it within the ttl, it is dropped.
func (c *Cache) FinishBinding(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.assumed[uid(pod)]; ok {
		a.bound = true
		a.deadline = c.clock.Now().Add(c.ttl)
	}
}

// Forget drops an assumed pod whose binding failed.
func (c *Cache) Forget(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.assumed[uid(pod)]; ok {
		delete(c.assumed, uid(pod))
		c.removeLocked(uid(pod))
	}
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.assumed[uid(pod)]
	return ok
}

// Snapshot returns every node for one scheduling cycle, sorted by name,
// after dropping expired assumptions. The nodes are copies the cache does
// not change; the slice is valid until the next call.
func (c *Cache) Snapshot() []*framework.NodeInfo {
	nodes, _ := c.SnapshotVersion()
	return nodes
}

// SnapshotVersion is Snapshot with the version of the Node objects in it:
// equal versions mean the same Node objects, whatever pods moved.
func (c *Cache) SnapshotVersion() ([]*framework.NodeInfo, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	for id, a := range c.assumed {
		if a.bound && now.After(a.deadline) {
			delete(c.assumed, id)
			c.removeLocked(id)
		}
	}
	if c.rebuild {
		c.snap = make([]*framework.NodeInfo, 0, len(c.nodes))
		for _, n := range c.nodes {
			c.snap = append(c.snap, n.Clone())
		}
		sort.Slice(c.snap, func(i, j int) bool { return c.snap[i].Name() < c.snap[j].Name() })
		c.snapIndex = make(map[string]int, len(c.snap))
		for i, n := range c.snap {
			c.snapIndex[n.Name()] = i
		}
		c.rebuild = false
		clear(c.dirty)
		return c.snap, c.nodeVersion
	}
	for name := range c.dirty {
		if i, ok := c.snapIndex[name]; ok {
			c.snap[i] = c.nodes[name].Clone()
		}
	}
	clear(c.dirty)
	return c.snap, c.nodeVersion
}

// NodeCount is the number of known nodes.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}
