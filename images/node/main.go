// Command skiff-node is the entrypoint of the stack's node image: one
// container is one node. It starts containerd, then the kubelet and the
// proxy, and does the node's network plumbing that a CNI daemon such as
// kindnet and an L2 load-balancer speaker do on a real cluster:
//
//   - once the controller-manager has given the Node a podCIDR, it writes
//     the CNI bridge configuration for that subnet (the node reports
//     NetworkReady only from then on);
//   - it keeps a route to every other node's podCIDR through that node's
//     InternalIP, so pods reach each other across nodes;
//   - it masquerades traffic from pods to addresses outside the cluster
//     CIDR, so the answers find their way back;
//   - it holds the LoadBalancer ingress IPs of Services as local
//     addresses (on lo), so the node answers ARP for them on the stack's
//     network and the proxy's rules take the traffic from the host;
//   - it relays DNS from the node's own IP (port 53) to the node's
//     resolvers, which pods cannot reach themselves (Docker's 127.0.0.11
//     answers only on the node container's loopback), and gives the
//     kubelet a resolv.conf naming that relay for pods.
//
// Any of the three processes, or the relay, exiting stops the others and
// the container, whose restart policy starts the node again.
package main

import (
	"context"

	"skiff.dev/pkg/component"
)

func main() {
	o := defaultOptions()
	component.Main("skiff-node", o, func(ctx context.Context) error { return run(ctx, o) })
}
