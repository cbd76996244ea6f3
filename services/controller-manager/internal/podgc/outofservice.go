package podgc

import corev1 "skiff.dev/api/core/v1"

// TaintOutOfService is the taint an administrator puts on a Node known to
// be down, so its pods are let go of at once.
const TaintOutOfService = "node.kubernetes.io/out-of-service"

// outOfService: the Node is not Ready and carries the out-of-service
// taint, as Kubernetes' collector requires before deleting the pods that
// are terminating there.
func outOfService(n *corev1.Node) bool {
	ready := false
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			ready = c.GetStatus() == "True"
		}
	}
	if ready {
		return false
	}
	for _, t := range n.GetSpec().GetTaints() {
		if t.GetKey() == TaintOutOfService {
			return true
		}
	}
	return false
}
