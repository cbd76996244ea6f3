// Command controller-manager is Skiff's controller-manager: the controllers
// that drive objects toward their specs (replica sets, service accounts,
// ...), one replica at a time under leader election.
package main

import (
	"context"

	"skiff.dev/pkg/component"
	"skiff.dev/services/controller-manager/internal/app"
)

func main() {
	opts := app.NewOptions()
	component.Main("controller-manager", opts, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
