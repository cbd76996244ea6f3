// Command kubectl-skiff is Skiff's kubectl plugin: with it on the PATH,
// `kubectl skiff trace deployment/web` shows the trace of the
// Deployment's last write as a waterfall.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"skiff.dev/cmd/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.ProcessEnv())
	stop()
	os.Exit(code)
}
