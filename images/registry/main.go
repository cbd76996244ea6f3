// Command registry is the stack's OCI registry: go-containerregistry's
// registry, with blobs on disk and manifests replayed from a log on disk,
// so pushed images outlive a restart of the container.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("address", ":5000", "Address to serve the registry API on.")
	dir := flag.String("data-dir", "/var/lib/registry", "Directory of the blobs and the manifest log.")
	flag.Parse()
	if err := run(*addr, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(addr, dir string) error {
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, err := newPersistent(
		registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs)), registry.Logger(slog.NewLogLogger(log.Handler(), slog.LevelDebug))),
		filepath.Join(dir, "manifests.log"))
	if err != nil {
		return err
	}
	log.Info("serving", "address", addr, "data-dir", dir, "manifests", h.replayed)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return h.Close()
}
