// Package nftables renders the proxy's whole nftables table from the cluster
// state: a pure function from Services and their endpoints to an nft script
// that replaces the table atomically, laid out the way kube-proxy's nftables
// mode lays out its own (dispatch maps, per-service and per-endpoint chains,
// reject and masquerade chains).
package nftables
