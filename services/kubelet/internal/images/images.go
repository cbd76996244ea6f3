// Package images manages the node's images beyond what pods pull: it
// preloads image tarballs into the runtime at start and removes unused
// images when the image filesystem fills up.
package images

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/services/kubelet/internal/cri"
)

// Preload imports every OCI or docker-archive tarball (*.tar) of dir into
// the runtime's k8s.io namespace. CRI has no import call, so this uses
// containerd's own client, ctr, on the socket of the CRI endpoint.
func Preload(ctx context.Context, endpoint, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		slog.WarnContext(ctx, "no image tarballs to preload", "dir", dir)
		return nil
	}
	ctr, err := exec.LookPath("ctr")
	if err != nil {
		return fmt.Errorf("preload images from %s: containerd's ctr is not on PATH: %w", dir, err)
	}
	sock := strings.TrimPrefix(endpoint, "unix://")
	for _, f := range files {
		start := time.Now()
		out, err := exec.CommandContext(ctx, ctr, "--address", sock, "--namespace", "k8s.io", "images", "import", f).CombinedOutput()
		if err != nil {
			return fmt.Errorf("preload image %s: %v: %s", f, err, strings.TrimSpace(string(out)))
		}
		slog.InfoContext(ctx, "preloaded image", "file", f, "took", time.Since(start))
	}
	return nil
}

// GarbageCollect checks the image filesystem every five minutes and, above
// high percent used, removes images no container uses, biggest first,
// until usage is at low percent.
func GarbageCollect(ctx context.Context, rt cri.Runtime, high, low int) {
	tick := time.NewTicker(5 * time.Minute)
	defer tick.Stop()
	for {
		if err := collect(ctx, rt, high, low, usage); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "image garbage collection", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// collect removes unused images, biggest first, when the image filesystem
// is used above high percent, until it is at low percent; diskUsage
// measures a filesystem.
func collect(ctx context.Context, rt cri.Runtime, high, low int, diskUsage func(path string) (used, total uint64, err error)) error {
	fs, err := rt.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		return fmt.Errorf("image filesystem info: %w", err)
	}
	if len(fs.GetImageFilesystems()) == 0 {
		return nil
	}
	mount := fs.GetImageFilesystems()[0].GetFsId().GetMountpoint()
	used, total, err := diskUsage(mount)
	if err != nil || total == 0 || used*100 < uint64(high)*total {
		return err
	}
	toFree := used - uint64(low)*total/100
	inUse, err := imagesInUse(ctx, rt)
	if err != nil {
		return err
	}
	list, err := rt.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return err
	}
	imgs := list.GetImages()
	slices.SortFunc(imgs, func(a, b *runtimeapi.Image) int { return int(b.GetSize()) - int(a.GetSize()) })
	var freed uint64
	for _, img := range imgs {
		if freed >= toFree {
			break
		}
		if inUse[img.GetId()] || img.GetPinned() {
			continue
		}
		if _, err := rt.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: img.GetId()}}); err != nil {
			slog.WarnContext(ctx, "remove unused image", "image", img.GetRepoTags(), "err", err)
			continue
		}
		freed += img.GetSize()
		slog.InfoContext(ctx, "removed unused image", "image", img.GetRepoTags(), "bytes", img.GetSize())
	}
	return nil
}

func imagesInUse(ctx context.Context, rt cri.Runtime) (map[string]bool, error) {
	cs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, c := range cs.GetContainers() {
		out[c.GetImageRef()] = true
		out[c.GetImage().GetImage()] = true
	}
	return out, nil
}

// usage is how much of the filesystem at path is used, in bytes.
func usage(path string) (used, total uint64, err error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return 0, 0, err
	}
	total = s.Blocks * uint64(s.Bsize)
	return total - s.Bavail*uint64(s.Bsize), total, nil
}
