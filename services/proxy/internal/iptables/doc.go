// Package iptables is the proxy's iptables mode: it renders the cluster state
// into SKIFF- chains in the nat and filter tables, laid out the way
// kube-proxy's iptables mode lays out its KUBE- chains (a dispatch chain,
// per-service, per-endpoint and external-entry chains, masquerade marking),
// and programs them with iptables-restore, one atomic restore per table.
package iptables
