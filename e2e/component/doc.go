// Package component holds the end-to-end tests of what the controlling
// components (scheduler, controller-manager, cloud-controller) share
// through pkg/component: the z-pages on their secure health ports, over
// HTTP/JSON and gRPC, and /readyz following their informers' sync.
package component
