// Command scheduler is Skiff's scheduler: it assigns pending pods to nodes
// through the apiserver, one replica at a time under leader election.
package main

import (
	"context"

	"skiff.dev/pkg/component"
	"skiff.dev/services/scheduler/internal/app"
)

func main() {
	opts := app.NewOptions()
	component.Main("scheduler", opts, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
