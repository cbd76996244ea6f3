// Package nodeinfo publishes what the CSI drivers registered on this node
// say of it, as Kubernetes' kubelet's nodeinfomanager does: each driver's
// entry in the node's CSINode (node ID, topology keys, volume limit), the
// Node's csi.volume.kubernetes.io/nodeid annotation (a JSON map of driver
// to node ID) and the Node's topology labels.
package nodeinfo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
)

// NodeIDAnnotation maps each CSI driver of the node to its node ID.
const NodeIDAnnotation = "csi.volume.kubernetes.io/nodeid"

// fieldManager is the kubelet's.
const fieldManager = "kubelet"

// conflictRetries bounds the read-modify-write retries on a conflict.
const conflictRetries = 5

// Manager writes the node's CSINode and Node for the CSI drivers.
type Manager struct {
	C    *client.Client
	Node string
}

// InstallDriver adds or refreshes the driver on the Node and its CSINode.
func (m *Manager) InstallDriver(ctx context.Context, driver string, info *csipb.NodeGetInfoResponse) error {
	if err := m.updateNode(ctx, func(n *corev1.Node) error { return addToNode(n, driver, info) }); err != nil {
		return err
	}
	return m.updateCSINode(ctx, func(cn *storagev1.CSINode) { setDriver(cn, driver, info) })
}

// UninstallDriver takes the driver off the CSINode and the annotation;
// its topology labels stay, as in Kubernetes.
func (m *Manager) UninstallDriver(ctx context.Context, driver string) error {
	err := m.updateCSINode(ctx, func(cn *storagev1.CSINode) {
		cn.Spec.Drivers = slices.DeleteFunc(cn.GetSpec().GetDrivers(), func(d *storagev1.CSINodeDriver) bool { return d.GetName() == driver })
	})
	if err != nil {
		return err
	}
	return m.updateNode(ctx, func(n *corev1.Node) error {
		ids, err := nodeIDs(n)
		if err != nil {
			return err
		}
		delete(ids, driver)
		return setNodeIDs(n, ids)
	})
}

// addToNode sets the driver's node ID in the annotation and its topology
// segments as labels; a label with another value is a collision.
func addToNode(n *corev1.Node, driver string, info *csipb.NodeGetInfoResponse) error {
	ids, err := nodeIDs(n)
	if err != nil {
		return err
	}
	ids[driver] = info.GetNodeId()
	if err := setNodeIDs(n, ids); err != nil {
		return err
	}
	if n.Metadata.Labels == nil {
		n.Metadata.Labels = map[string]string{}
	}
	for k, v := range info.GetAccessibleTopology().GetSegments() {
		if old, ok := n.Metadata.Labels[k]; ok && old != v {
			return fmt.Errorf("detected topology value collision: driver reported %q:%q but existing label is %q:%q", k, v, k, old)
		}
		n.Metadata.Labels[k] = v
	}
	return nil
}

func nodeIDs(n *corev1.Node) (map[string]string, error) {
	ids := map[string]string{}
	if s := n.GetMetadata().GetAnnotations()[NodeIDAnnotation]; s != "" {
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("failed to parse node annotation %s %q: %w", NodeIDAnnotation, s, err)
		}
	}
	return ids, nil
}

func setNodeIDs(n *corev1.Node, ids map[string]string) error {
	if n.Metadata.Annotations == nil {
		n.Metadata.Annotations = map[string]string{}
	}
	if len(ids) == 0 {
		delete(n.Metadata.Annotations, NodeIDAnnotation)
		return nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	n.Metadata.Annotations[NodeIDAnnotation] = string(b)
	return nil
}

// setDriver replaces the driver's entry of the CSINode.
func setDriver(cn *storagev1.CSINode, driver string, info *csipb.NodeGetInfoResponse) {
	d := &storagev1.CSINodeDriver{Name: driver, NodeId: info.GetNodeId(),
		TopologyKeys: slices.Sorted(maps.Keys(info.GetAccessibleTopology().GetSegments()))}
	if limit := info.GetMaxVolumesPerNode(); limit > 0 {
		count := int32(limit)
		d.Allocatable = &storagev1.VolumeNodeResources{Count: &count}
	}
	if cn.Spec == nil {
		cn.Spec = &storagev1.CSINodeSpec{}
	}
	i := slices.IndexFunc(cn.Spec.Drivers, func(e *storagev1.CSINodeDriver) bool { return e.GetName() == driver })
	if i < 0 {
		cn.Spec.Drivers = append(cn.Spec.Drivers, d)
	} else {
		cn.Spec.Drivers[i] = d
	}
}

// updateNode applies change to a fresh read of the Node, retrying on a
// conflict.
func (m *Manager) updateNode(ctx context.Context, change func(*corev1.Node) error) error {
	nodes := m.C.CoreV1().Nodes()
	var err error
	for range conflictRetries {
		var n *corev1.Node
		if n, err = nodes.Get(ctx, m.Node); err != nil {
			return fmt.Errorf("get node %s: %w", m.Node, err)
		}
		if n.Metadata == nil {
			n.Metadata = &metav1.ObjectMeta{}
		}
		if err = change(n); err != nil {
			return err
		}
		if _, err = nodes.Update(ctx, n, client.WriteOptions{FieldManager: fieldManager}); !client.IsConflict(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("update node %s: %w", m.Node, err)
	}
	return nil
}

// updateCSINode applies change to the node's CSINode, creating it (owned
// by the Node, so it goes with it) when there is none.
func (m *Manager) updateCSINode(ctx context.Context, change func(*storagev1.CSINode)) error {
	r := m.C.StorageV1().CSINodes()
	var err error
	for range conflictRetries {
		var cn *storagev1.CSINode
		cn, err = r.Get(ctx, m.Node)
		if client.IsNotFound(err) {
			if cn, err = m.newCSINode(ctx); err != nil {
				return err
			}
			change(cn)
			if _, err = r.Create(ctx, cn, client.WriteOptions{FieldManager: fieldManager}); !client.IsAlreadyExists(err) {
				break
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("get CSINode %s: %w", m.Node, err)
		}
		change(cn)
		if _, err = r.Update(ctx, cn, client.WriteOptions{FieldManager: fieldManager}); !client.IsConflict(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write CSINode %s: %w", m.Node, err)
	}
	return nil
}

func (m *Manager) newCSINode(ctx context.Context) (*storagev1.CSINode, error) {
	n, err := m.C.CoreV1().Nodes().Get(ctx, m.Node)
	if err != nil {
		return nil, fmt.Errorf("get node %s: %w", m.Node, err)
	}
	return &storagev1.CSINode{
		Metadata: &metav1.ObjectMeta{Name: m.Node, OwnerReferences: []*metav1.OwnerReference{{
			ApiVersion: "v1", Kind: "Node", Name: m.Node, Uid: n.GetMetadata().GetUid()}}},
		Spec: &storagev1.CSINodeSpec{},
	}, nil
}
