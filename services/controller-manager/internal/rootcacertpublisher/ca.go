package rootcacertpublisher

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"skiff.dev/pkg/client"
	"skiff.dev/pkg/clock"
)

// Source reads the CA bundle to publish, PEM-encoded.
type Source func() ([]byte, error)

// FileSource reads a PEM file of one or more certificates
// (--root-ca-file).
func FileSource(path string) Source {
	return func() ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read the root CA file: %w", err)
		}
		if err := checkBundle(data); err != nil {
			return nil, fmt.Errorf("root CA file %s: %w", path, err)
		}
		return data, nil
	}
}

// KubeconfigSource reads the CA that a kubeconfig's current cluster
// trusts: its certificate-authority-data or certificate-authority file.
// A kubeconfig that trusts the system roots gives an empty bundle, which
// is published as it is (as Kubernetes does).
func KubeconfigSource(path string) Source {
	return func() ([]byte, error) {
		cfg, err := client.FromKubeconfig(path)
		if err != nil {
			return nil, fmt.Errorf("read the CA of kubeconfig %s: %w", path, err)
		}
		if len(cfg.CAData) == 0 {
			return nil, nil
		}
		if err := checkBundle(cfg.CAData); err != nil {
			return nil, fmt.Errorf("the CA of kubeconfig %s: %w", path, err)
		}
		return cfg.CAData, nil
	}
}

// checkBundle accepts PEM data whose blocks are all certificates, at least
// one. Anything else is refused, so a key never gets published and a file
// caught half-written (a cut block at the end) is not either.
func checkBundle(data []byte) error {
	n := 0
	for rest := data; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		switch {
		case block == nil && n == 0:
			return errors.New("no PEM certificate in it")
		case block == nil && len(bytes.TrimSpace(rest)) > 0:
			return errors.New("data after the last PEM block (a partly written file?)")
		case block == nil:
			return nil
		case block.Type != "CERTIFICATE":
			return fmt.Errorf("a %q PEM block, want only CERTIFICATE blocks", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %w", n+1, err)
		}
	}
}

// bundle is the CA being published. It reads its source once when made
// and again on every refresh; a read that fails keeps the last good
// bundle.
type bundle struct {
	src Source

	mu      sync.Mutex
	pem     string
	lastErr string // the last failed read's error, "" after a good one
}

func newBundle(src Source) (*bundle, error) {
	data, err := src()
	if err != nil {
		return nil, err
	}
	return &bundle{src: src, pem: string(data)}, nil
}

// get is the bundle to publish.
func (b *bundle) get() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pem
}

// refresh reads the source again and reports whether the bundle changed.
// A failed read is logged when it differs from the previous failure, so a
// broken file does not fill the log every period.
func (b *bundle) refresh(ctx context.Context) bool {
	data, err := b.src()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if err.Error() != b.lastErr {
			slog.WarnContext(ctx, "root CA unreadable; still publishing the last one read", "controller", Name, "err", err)
		}
		b.lastErr = err.Error()
		return false
	}
	if b.lastErr != "" {
		slog.InfoContext(ctx, "root CA readable again", "controller", Name)
		b.lastErr = ""
	}
	if string(data) == b.pem {
		return false
	}
	b.pem = string(data)
	return true
}

// follow refreshes the bundle every period until ctx ends and calls
// changed after each change.
func (b *bundle) follow(ctx context.Context, clk clock.Clock, period time.Duration, changed func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-clk.After(period):
		}
		if b.refresh(ctx) {
			slog.InfoContext(ctx, "root CA changed; publishing it in every namespace", "controller", Name)
			changed()
		}
	}
}
