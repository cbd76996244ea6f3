package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"

	"skiff.dev/services/proxy/internal/model"
)

// The tables the backend writes, in the order it writes them.
const (
	tableNat    = "nat"
	tableFilter = "filter"
)

// chainPrefix starts the name of every chain the backend owns.
const chainPrefix = "SKIFF-"

// Fixed chains. SKIFF-SERVICES and SKIFF-NODEPORTS exist in both tables.
const (
	chainServices         = "SKIFF-SERVICES"
	chainNodePorts        = "SKIFF-NODEPORTS"
	chainExternalServices = "SKIFF-EXTERNAL-SERVICES"
	chainMarkMasq         = "SKIFF-MARK-MASQ"
	chainPostrouting      = "SKIFF-POSTROUTING"
)

// maxChainLen is the longest chain name iptables accepts
// (XT_EXTENSION_MAXNAMELEN less the terminating NUL and some slack).
const maxChainLen = 28

// hashLen base32 characters of SHA-256 make chain names unique enough:
// 80 bits, as kube-proxy uses.
const hashLen = 16

// hashedChain is prefix followed by a stable hash of key.
func hashedChain(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:hashLen]
}

// serviceChain balances a Service port's cluster traffic over its endpoints.
func serviceChain(n model.ServicePortName) string { return hashedChain("SKIFF-SVC-", n.String()) }

// externalChain is the entry for a Service port's NodePort and
// load-balancer traffic.
func externalChain(n model.ServicePortName) string { return hashedChain("SKIFF-EXT-", n.String()) }

// localChain balances policy-Local external traffic over the node's endpoints.
func localChain(n model.ServicePortName) string { return hashedChain("SKIFF-SVL-", n.String()) }

// endpointChain DNATs to one endpoint of a Service port.
func endpointChain(n model.ServicePortName, ep model.Endpoint) string {
	return hashedChain("SKIFF-SEP-", n.String()+"__"+ep.IP+":"+strconv.Itoa(ep.Port))
}

// portComment names a Service port for rule comments: "ns/name:port".
func portComment(n model.ServicePortName) string {
	s := n.Namespace + "/" + n.Name
	if n.PortName != "" {
		s += ":" + n.PortName
	}
	return s
}
