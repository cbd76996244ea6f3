// Command kubelet is Skiff's node agent: it registers its Node, keeps its
// Lease fresh and runs the pods bound to it through CRI.
package main

import (
	"context"

	"skiff.dev/pkg/component"
	"skiff.dev/services/kubelet/internal/app"
)

func main() {
	opts := app.NewOptions()
	component.Main("kubelet", opts, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
