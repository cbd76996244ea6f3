// Package component holds the end-to-end tests of what the components
// share through pkg/component: the z-pages on the health ports of the
// controlling components (scheduler, controller-manager, cloud-controller)
// and of the node components (kubelet, proxy), over HTTP/JSON and gRPC,
// and /readyz following their informers' sync.
package component
