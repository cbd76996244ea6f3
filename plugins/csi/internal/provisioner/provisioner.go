// Package provisioner is Skiff's external provisioner for a CSI driver,
// run on every node next to it (distributed provisioning): it provisions
// the claims whose selected node is its own through the driver's
// CreateVolume, creates their PersistentVolumes, deletes the released
// ones' volumes through DeleteVolume, and publishes the node's
// CSIStorageCapacity. The claim loop, events and finalizers are
// sig-storage-lib-external-provisioner's ProvisionController.
package provisioner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// Well-known annotations.
const (
	AnnSelectedNode  = "volume.kubernetes.io/selected-node"
	AnnProvisionedBy = "pv.kubernetes.io/provisioned-by"
)

// Config says which driver and node a provisioner serves.
type Config struct {
	// Driver is the CSI driver's name, the provisioner name of its classes.
	Driver string
	// Node is this node's name.
	Node string
	// TopologyKey is the driver's topology segment naming a node.
	TopologyKey string
	// Identity tells this provisioner's volumes apart (volume attribute
	// storage.kubernetes.io/csiProvisionerIdentity).
	Identity string
	// Owner, when set, owns the CSIStorageCapacity objects: the
	// provisioner's Pod, as external-provisioner's
	// --capacity-ownerref-level=0, so the garbage collector removes a
	// node's objects with its provisioner. Nil (a provisioner run
	// outside a Pod) leaves them unowned.
	Owner *metav1.OwnerReference
}

// Provisioner implements the library's Provisioner, Qualifier and
// DeletionGuard for one node.
type Provisioner struct {
	cfg    Config
	csi    csi.ControllerClient
	client kubernetes.Interface
	log    *slog.Logger
	// changed is told after each volume created or deleted (capacity).
	changed func()
}

// New returns the provisioner of cfg.Node, calling the driver's
// Controller service through c; changed (may be nil) is called after each
// volume created or deleted.
func New(cfg Config, c csi.ControllerClient, client kubernetes.Interface, log *slog.Logger, changed func()) *Provisioner {
	if changed == nil {
		changed = func() {}
	}
	return &Provisioner{cfg: cfg, csi: c, client: client, log: log, changed: changed}
}

// ShouldProvision takes the claims whose selected node is this node, and
// the claims no node was selected for (Immediate binding), which the first
// node to mark selected wins.
func (p *Provisioner) ShouldProvision(_ context.Context, claim *v1.PersistentVolumeClaim) bool {
	node := claim.Annotations[AnnSelectedNode]
	return node == "" || node == p.cfg.Node
}

// ShouldDelete takes the volumes of this driver on this node.
func (p *Provisioner) ShouldDelete(_ context.Context, pv *v1.PersistentVolume) bool {
	return pv.Spec.CSI != nil && pv.Spec.CSI.Driver == p.cfg.Driver && nodeOf(pv, p.cfg.TopologyKey) == p.cfg.Node
}

// Provision creates the claim's volume on this node and returns its PV.
func (p *Provisioner) Provision(ctx context.Context, opts controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	switch opts.SelectedNodeName {
	case p.cfg.Node:
	case "":
		if err := p.claimForNode(ctx, opts.PVC); err != nil {
			return nil, controller.ProvisioningFinished, &controller.IgnoredError{Reason: err.Error()}
		}
	default:
		return nil, controller.ProvisioningFinished, &controller.IgnoredError{Reason: "the claim's selected node is " + opts.SelectedNodeName}
	}
	req, err := p.createRequest(opts)
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	resp, err := p.csi.CreateVolume(ctx, req)
	if err != nil {
		return nil, p.failureState(err, opts), fmt.Errorf("rpc error: %w", err)
	}
	p.changed()
	pv, err := p.volume(opts, resp.GetVolume())
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	p.log.Info("provisioned", "claim", opts.PVC.Namespace+"/"+opts.PVC.Name, "pv", pv.Name, "bytes", resp.GetVolume().GetCapacityBytes())
	return pv, controller.ProvisioningFinished, nil
}

// Delete removes the PV's volume through the driver.
func (p *Provisioner) Delete(ctx context.Context, pv *v1.PersistentVolume) error {
	if !p.ShouldDelete(ctx, pv) {
		return &controller.IgnoredError{Reason: "the volume is not on node " + p.cfg.Node}
	}
	if _, err := p.csi.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle}); err != nil {
		return fmt.Errorf("rpc error: %w", err)
	}
	p.changed()
	p.log.Info("deleted", "pv", pv.Name, "volume", pv.Spec.CSI.VolumeHandle)
	return nil
}

// claimForNode marks the claim selected for this node, so that the
// provisioners of other nodes leave it: the update carries the claim's
// resourceVersion, and only the first node's update succeeds.
func (p *Provisioner) claimForNode(ctx context.Context, claim *v1.PersistentVolumeClaim) error {
	c := claim.DeepCopy()
	metav1.SetMetaDataAnnotation(&c.ObjectMeta, AnnSelectedNode, p.cfg.Node)
	_, err := p.client.CoreV1().PersistentVolumeClaims(c.Namespace).Update(ctx, c, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return errors.New("another node's provisioner took the claim")
	}
	if err != nil {
		return fmt.Errorf("marking the claim for node %s: %w", p.cfg.Node, err)
	}
	return nil
}

// failureState says whether a failed CreateVolume may still go on in the
// driver (timeouts), should be tried on another node (no space here), or
// is final.
func (p *Provisioner) failureState(err error, opts controller.ProvisionOptions) controller.ProvisioningState {
	switch status.Code(err) {
	case codes.ResourceExhausted:
		if opts.SelectedNodeName != "" {
			return controller.ProvisioningReschedule
		}
		return controller.ProvisioningFinished
	case codes.Canceled, codes.DeadlineExceeded, codes.Unavailable, codes.Aborted, codes.Unknown:
		return controller.ProvisioningInBackground
	}
	return controller.ProvisioningFinished
}
