// Package nominator remembers the pending pods that preempted others and
// the node each was nominated to (status.nominatedNodeName), so that
// scheduling other pods counts them on that node: a pod of equal or lower
// priority may not take the room a preemption freed for a pod of higher
// priority, while one of higher priority ignores the nomination.
package nominator

import (
	"sync"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

// Nominator holds nominated pods. It is safe for concurrent use.
type Nominator struct {
	mu     sync.Mutex
	byUID  map[string]string                 // pod uid -> node
	byNode map[string]map[string]*corev1.Pod // node -> uid -> pod as if on the node
}

// New returns an empty nominator.
func New() *Nominator {
	return &Nominator{byUID: map[string]string{}, byNode: map[string]map[string]*corev1.Pod{}}
}

func uid(p *corev1.Pod) string { return p.GetMetadata().GetUid() }

// Add nominates pod to node, replacing any earlier nomination; an empty
// node removes the pod.
func (n *Nominator) Add(pod *corev1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(uid(pod))
	if node == "" {
		return
	}
	placed := proto.Clone(pod).(*corev1.Pod)
	if placed.Spec == nil {
		placed.Spec = &corev1.PodSpec{}
	}
	placed.Spec.NodeName = proto.String(node)
	n.byUID[uid(pod)] = node
	if n.byNode[node] == nil {
		n.byNode[node] = map[string]*corev1.Pod{}
	}
	n.byNode[node][uid(pod)] = placed
}

// Delete forgets a pod (bound, deleted, or no longer nominated).
func (n *Nominator) Delete(pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(uid(pod))
}

func (n *Nominator) deleteLocked(id string) {
	node, ok := n.byUID[id]
	if !ok {
		return
	}
	delete(n.byUID, id)
	delete(n.byNode[node], id)
	if len(n.byNode[node]) == 0 {
		delete(n.byNode, node)
	}
}

// NodeOf is the node pod is nominated to, "" for none.
func (n *Nominator) NodeOf(pod *corev1.Pod) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byUID[uid(pod)]
}

// Snapshot returns the nominated pods by node, as if they ran there, for
// one scheduling cycle; nil when there are none, the common case, which
// costs one lock.
func (n *Nominator) Snapshot() map[string][]*corev1.Pod {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.byUID) == 0 {
		return nil
	}
	out := make(map[string][]*corev1.Pod, len(n.byNode))
	for node, pods := range n.byNode {
		for _, p := range pods {
			out[node] = append(out[node], p)
		}
	}
	return out
}
