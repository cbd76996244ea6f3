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
	gen      int64
	// snap is the last snapshot: a node is copied again only when its
	// generation moved, so a cycle costs little more than the nodes that
	// changed.
	snap map[string]*framework.NodeInfo
}

// New builds an empty cache; an assumed pod whose bind finished but was
// never confirmed is dropped after ttl.
func New(c clock.Clock, ttl time.Duration) *Cache {
	if c == nil {
		c = clock.Real{}
	}
	return &Cache{clock: c, ttl: ttl, nodes: map[string]*framework.NodeInfo{}, podNode: map[string]string{},
		assumed: map[string]*assumed{}, orphaned: map[string]map[string]*corev1.Pod{}, snap: map[string]*framework.NodeInfo{}}
}

func uid(p *corev1.Pod) string { return p.GetMetadata().GetUid() }

func (c *Cache) touch(n *framework.NodeInfo) {
	c.gen++
	n.Generation = c.gen
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
		for _, p := range c.orphaned[name] {
			n.AddPod(p)
		}
		delete(c.orphaned, name)
	} else {
		n.Node = node
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

// Snapshot copies every node for one scheduling cycle, sorted by name, and
// drops expired assumptions first.
func (c *Cache) Snapshot() []*framework.NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	for id, a := range c.assumed {
		if a.bound && now.After(a.deadline) {
			delete(c.assumed, id)
			c.removeLocked(id)
		}
	}
	out := make([]*framework.NodeInfo, 0, len(c.nodes))
	for name, n := range c.nodes {
		s, ok := c.snap[name]
		if !ok || s.Generation != n.Generation || s.Node != n.Node {
			s = n.Clone()
			c.snap[name] = s
		}
		out = append(out, s)
	}
	if len(c.snap) > len(c.nodes) {
		for name := range c.snap {
			if _, ok := c.nodes[name]; !ok {
				delete(c.snap, name)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// NodeCount is the number of known nodes.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}
