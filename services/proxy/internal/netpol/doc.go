// Package netpol enforces NetworkPolicies on one node: it renders the
// policies that select this node's pods, with their peers cluster-wide,
// into the nftables table inet skiff-netpol (per-pod dispatch maps,
// per-policy chains, per-rule sets) and keeps it in step with the pods,
// namespaces and policies the apiserver holds, writing only what changed.
package netpol
