// Command proxy is Skiff's per-node service proxy: it watches Services and
// EndpointSlices and programs the node's packet rules (nftables, or
// iptables with --proxy-mode iptables) so Service addresses reach their
// endpoints.
package main

import (
	"context"

	"skiff.dev/pkg/component"
	"skiff.dev/services/proxy/internal/app"
)

func main() {
	opts := app.NewOptions()
	component.Main("proxy", opts, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
