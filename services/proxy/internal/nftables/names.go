package nftables

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"time"

	"skiff.dev/services/proxy/internal/model"
)

// Table is the nftables table the proxy owns, in the ip family.
const (
	Family = "ip"
	Table  = "skiff-proxy"
)

// Fixed chains, maps and verdict targets of the table.
const (
	chainNatPrerouting   = "nat-prerouting"
	chainNatOutput       = "nat-output"
	chainNatPostrouting  = "nat-postrouting"
	chainFilterInput     = "filter-input"
	chainFilterForward   = "filter-forward"
	chainFilterOutput    = "filter-output"
	chainOutputPostDNAT  = "filter-output-post-dnat"
	chainServices        = "services"
	chainMasquerading    = "masquerading"
	chainMarkMasq        = "mark-for-masquerade"
	chainEndpointsCheck  = "service-endpoints-check"
	chainNodePortsCheck  = "nodeport-endpoints-check"
	chainReject          = "reject-chain"
	chainClusterIPsCheck = "cluster-ips-check"
	setClusterIPs        = "cluster-ips"
	mapServiceIPs        = "service-ips"
	mapServiceNodePorts  = "service-nodeports"
	mapNoEndpointIPs     = "no-endpoint-services"
	mapNoEndpointNodePts = "no-endpoint-nodeports"
)

// maxNameLen keeps generated names well under the kernel's 255-byte limit
// (NFT_NAME_MAXLEN) for chains and sets; the hash keeps truncated names unique.
const maxNameLen = 200

// objectName builds "prefix-HASH-readable": the hash of the readable part makes
// the name unique and stable, the readable part is truncated if too long.
func objectName(prefix, readable string) string {
	return hashedName(prefix, readable, readable)
}

// hashedName is objectName with the hash taken over unique.
func hashedName(prefix, unique, readable string) string {
	sum := sha256.Sum256([]byte(unique))
	hash := base32.StdEncoding.EncodeToString(sum[:])[:8]
	name := prefix + "-" + hash + "-" + readable
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	return name
}

func serviceChain(n model.ServicePortName) string  { return objectName("service", n.String()) }
func externalChain(n model.ServicePortName) string { return objectName("external", n.String()) }
func localChain(n model.ServicePortName) string    { return objectName("local", n.String()) }

func endpointKey(n model.ServicePortName, ep model.Endpoint) string {
	return n.String() + "__" + ep.IP + "/" + strconv.Itoa(ep.Port)
}

func endpointChain(n model.ServicePortName, ep model.Endpoint) string {
	return objectName("endpoint", endpointKey(n, ep))
}

// affinitySet's hash covers the timeout too: a set's timeout cannot change,
// so a new timeout makes a new set.
func affinitySet(n model.ServicePortName, ep model.Endpoint, timeout time.Duration) string {
	return hashedName("affinity", endpointKey(n, ep)+"/"+timeout.String(), endpointKey(n, ep))
}
