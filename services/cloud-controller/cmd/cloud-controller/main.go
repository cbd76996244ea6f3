// Command cloud-controller is Skiff's cloud-controller: the node, service
// and route controllers that tie the cluster to its cloud provider (the
// built-in local provider or a plugin program), one replica at a time
// under leader election.
package main

import (
	"context"

	"skiff.dev/pkg/component"
	"skiff.dev/services/cloud-controller/internal/app"
)

func main() {
	opts := app.NewOptions()
	component.Main("cloud-controller", opts, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
