package csi

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/services/kubelet/internal/csi/csitest"
)

// A driver that never answers fails the call after the timeout instead
// of holding the caller (a pod's sync, the plugin watcher) for ever.
func TestCallTimeout(t *testing.T) {
	tests := []struct {
		hang string
		run  func(ctx context.Context, d *Drivers, sock string) error
	}{
		{"NodeGetInfo", func(ctx context.Context, d *Drivers, sock string) error {
			return d.RegisterPlugin(ctx, driver, sock, nil)
		}},
		{"NodeStageVolume", func(ctx context.Context, d *Drivers, sock string) error {
			_, err := d.SetUp(ctx, volume(), "uid")
			return err
		}},
		{"NodePublishVolume", func(ctx context.Context, d *Drivers, sock string) error {
			_, err := d.SetUp(ctx, volume(), "uid")
			return err
		}},
		{"NodeUnpublishVolume", func(ctx context.Context, d *Drivers, sock string) error {
			if _, err := d.SetUp(ctx, volume(), "uid"); err != nil {
				t.Fatal(err)
			}
			return d.TearDown(ctx, "uid", "pv-1")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.hang, func(t *testing.T) {
			f := &csitest.Node{Stage: true}
			sock := csitest.Start(t, f)
			d := &Drivers{Root: t.TempDir(), Timeout: 200 * time.Millisecond}
			ctx := context.Background()
			if tt.hang != "NodeGetInfo" {
				if err := d.RegisterPlugin(ctx, driver, sock, nil); err != nil {
					t.Fatal(err)
				}
			}
			f.Hang(tt.hang)
			done := make(chan error, 1)
			go func() { done <- tt.run(ctx, d, sock) }()
			select {
			case err := <-done:
				if status.Code(err) != codes.DeadlineExceeded {
					t.Errorf("err = %v, want DeadlineExceeded", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the call to a hung driver did not time out")
			}
		})
	}
}
