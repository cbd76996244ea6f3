// Command controller-manager is Skiff's controller-manager: the controllers
// that drive objects toward their specs (replica sets, service accounts,
// ...), one replica at a time under leader election.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"skiff.dev/services/controller-manager/internal/app"
)

func main() {
	opts := app.NewOptions()
	fs := pflag.NewFlagSet("controller-manager", pflag.ContinueOnError)
	opts.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, opts); err != nil {
		fmt.Fprintln(os.Stderr, "controller-manager:", err)
		os.Exit(1)
	}
}
