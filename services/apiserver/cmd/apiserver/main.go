// Command apiserver is Skiff's API server: the only component that talks
// to etcd, serving the Kubernetes REST API and the gRPC API on one port.
package main

import (
	"context"

	"skiff.dev/pkg/component"
	"skiff.dev/services/apiserver/internal/app"
)

func main() {
	opts := app.NewOptions()
	component.Main("apiserver", opts, func(ctx context.Context) error { return app.Run(ctx, opts) })
}
