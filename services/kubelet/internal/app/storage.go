package app

import (
	"context"
	"path/filepath"

	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	corev1 "skiff.dev/api/core/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/kubelet/internal/csi"
	"skiff.dev/services/kubelet/internal/nodeinfo"
	"skiff.dev/services/kubelet/internal/pluginwatcher"
)

// apiStorage reads the objects behind persistentVolumeClaim volumes from
// the apiserver, each time a pod's volume is set up (once per pod).
type apiStorage struct{ c *client.Client }

func (s apiStorage) Claim(ctx context.Context, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	return s.c.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name)
}

func (s apiStorage) Volume(ctx context.Context, name string) (*corev1.PersistentVolume, error) {
	return s.c.CoreV1().PersistentVolumes().Get(ctx, name)
}

func (s apiStorage) Driver(ctx context.Context, name string) (*storagev1.CSIDriver, error) {
	return s.c.StorageV1().CSIDrivers().Get(ctx, name)
}

func (s apiStorage) Attachment(ctx context.Context, name string) (*storagev1.VolumeAttachment, error) {
	return s.c.StorageV1().VolumeAttachments().Get(ctx, name)
}

// csiDrivers is the node's CSI driver registry, publishing each driver
// in the node's CSINode and Node.
func csiDrivers(root, node string, c *client.Client) *csi.Drivers {
	return &csi.Drivers{Root: root, NodeInfo: &nodeinfo.Manager{C: c, Node: node}}
}

// pluginWatcher registers the CSI drivers that put a socket in
// <root-dir>/plugins_registry.
func pluginWatcher(root string, drivers *csi.Drivers) *pluginwatcher.Watcher {
	return &pluginwatcher.Watcher{
		Dir:      filepath.Join(root, "plugins_registry"),
		Period:   pluginwatcher.DefaultPeriod,
		Handlers: map[string]pluginwatcher.Handler{registerapi.CSIPlugin: drivers},
	}
}
