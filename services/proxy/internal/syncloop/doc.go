// Package syncloop paces the syncs of a rule set the proxy keeps in the
// kernel (the Service rules, the NetworkPolicy table): soon after a
// change, coalesced, periodically in full, retried in full after a failure,
// with the health and Prometheus series that show how it goes.
package syncloop
