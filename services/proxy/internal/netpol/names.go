package netpol

import (
	"crypto/sha256"
	"encoding/base32"
)

// The table enforcement owns, in the inet family so its hooks see the
// bridged IPv4 traffic br_netfilter hands to the IP hooks.
const (
	Family = "inet"
	Table  = "skiff-netpol"
)

// Fixed chains and maps of the table. The egress and ingress base chains
// both hook forward: an accept ends only its own chain, so a packet from
// one local pod to another passes both checks.
const (
	chainEgress     = "egress"
	chainIngress    = "ingress"
	mapEgressPods   = "egress-pods"
	mapIngressPods  = "ingress-pods"
	namedPortKey    = "ipv4_addr . inet_proto . inet_service"
	dispatchMapType = "ipv4_addr : verdict"
)

// Directions of a policy, as policyTypes names them.
const (
	dirIngress = "Ingress"
	dirEgress  = "Egress"
)

// maxNameLen keeps names far below the kernel's limit for chains and sets.
const maxNameLen = 200

// hash is a short stable digest that keeps names unique when the readable
// part is cut.
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:8]
}

func named(prefix, key string) string {
	name := prefix + "-" + hash(key) + "-" + key
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	return name
}

// policyChain is the chain of one policy's rules of one direction.
func policyChain(policy, dir string) string { return named("policy-"+short(dir), policy) }

// podChain jumps to the chains of every policy of a direction that selects
// the pod, then drops.
func podChain(pod, dir string) string { return named("pod-"+short(dir), pod) }

// setName names a set after what it holds: kind ("peer", "cidrs" or
// "port") and the hash of a key saying what is in it.
func setName(kind, key string) string { return kind + "-" + hash(key) }

func short(dir string) string {
	if dir == dirIngress {
		return "in"
	}
	return "eg"
}
