// Package attachdetach is the attachdetach controller, as Kubernetes' for
// CSI volumes: a pod scheduled to a node whose claim is bound to a CSI
// volume needs the volume attached there when the volume's driver says so
// (its CSIDriver's attachRequired, true when there is no CSIDriver
// object), and the controller asks for it with a storage.k8s.io/v1
// VolumeAttachment named as Kubernetes names it,
// csi-<sha256(volumeHandle+driver+node)>, for the driver's attacher to
// carry out. When no pod on the node needs the volume any more (deleted,
// or Succeeded/Failed), the VolumeAttachment is deleted (the attacher
// detaches, then lets it go) once the kubelet no longer reports the
// volume in the Node's status.volumesInUse (it has unmounted it), or
// after MaxWaitForUnmount, as Kubernetes does.
// The keys are node names: each reconcile makes one node's
// VolumeAttachments what its pods need.
package attachdetach

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/csiname"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "attachdetach"

// Controller is the attach/detach controller.
type Controller struct {
	*controller.Controller
	c           *client.Client
	pods        *informer.Informer[*corev1.Pod]
	claims      *informer.Informer[*corev1.PersistentVolumeClaim]
	volumes     *informer.Informer[*corev1.PersistentVolume]
	drivers     *informer.Informer[*storagev1.CSIDriver]
	attachments *informer.Informer[*storagev1.VolumeAttachment]
	nodeObjs    *informer.Informer[*corev1.Node]
	wait        *unmountWait
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	ac := &Controller{c: c, pods: f.Pods(), nodeObjs: f.Nodes(),
		wait:        &unmountWait{since: map[string]time.Time{}, now: time.Now},
		claims:      informers.For[*corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList](f),
		volumes:     informers.For[*corev1.PersistentVolume, *corev1.PersistentVolumeList](f),
		drivers:     informers.For[*storagev1.CSIDriver, *storagev1.CSIDriverList](f),
		attachments: informers.For[*storagev1.VolumeAttachment, *storagev1.VolumeAttachmentList](f)}
	ac.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(ac.reconcile),
		Keys: ac.nodes}
	podChanged := func(p *corev1.Pod) {
		if n := p.GetSpec().GetNodeName(); n != "" {
			ac.Enqueue(n)
		}
	}
	ac.pods.AddHandler(informer.Handler[*corev1.Pod]{OnAdd: podChanged, OnDelete: podChanged,
		OnUpdate: func(old, p *corev1.Pod) { podChanged(old); podChanged(p) }})
	all := func() {
		for _, n := range ac.nodes() {
			ac.Enqueue(n)
		}
	}
	ac.volumes.AddHandler(informer.Handler[*corev1.PersistentVolume]{OnAdd: func(*corev1.PersistentVolume) { all() },
		OnUpdate: func(_, _ *corev1.PersistentVolume) { all() }})
	ac.claims.AddHandler(informer.Handler[*corev1.PersistentVolumeClaim]{OnAdd: func(*corev1.PersistentVolumeClaim) { all() },
		OnUpdate: func(_, _ *corev1.PersistentVolumeClaim) { all() }})
	ac.drivers.AddHandler(informer.Handler[*storagev1.CSIDriver]{OnAdd: func(*storagev1.CSIDriver) { all() },
		OnUpdate: func(_, _ *storagev1.CSIDriver) { all() }, OnDelete: func(*storagev1.CSIDriver) { all() }})
	ac.nodeObjs.AddHandler(informer.Handler[*corev1.Node]{OnDelete: func(n *corev1.Node) { ac.Enqueue(n.GetMetadata().GetName()) },
		OnUpdate: func(old, n *corev1.Node) {
			if !slices.Equal(old.GetStatus().GetVolumesInUse(), n.GetStatus().GetVolumesInUse()) ||
				!sameAttached(old.GetStatus().GetVolumesAttached(), n.GetStatus().GetVolumesAttached()) {
				ac.Enqueue(n.GetMetadata().GetName())
			}
		}})
	vaChanged := func(va *storagev1.VolumeAttachment) { ac.Enqueue(va.GetSpec().GetNodeName()) }
	ac.attachments.AddHandler(informer.Handler[*storagev1.VolumeAttachment]{OnAdd: vaChanged, OnDelete: vaChanged,
		OnUpdate: func(_, va *storagev1.VolumeAttachment) { vaChanged(va) }})
	return ac
}

// nodes are the nodes with pods or attachments.
func (ac *Controller) nodes() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, p := range ac.pods.Store().List() {
		add(p.GetSpec().GetNodeName())
	}
	for _, va := range ac.attachments.Store().List() {
		add(va.GetSpec().GetNodeName())
	}
	return out
}

// attachment is one volume a node needs attached.
type attachment struct{ pv, driver, handle string }

func (ac *Controller) reconcile(ctx context.Context, node string) (time.Duration, error) {
	want := ac.desired(node)
	n, _ := ac.nodeObjs.Store().Get(node)
	var again time.Duration
	for _, va := range ac.attachments.Store().List() {
		s, name := va.GetSpec(), va.GetMetadata().GetName()
		if s.GetNodeName() != node || s.GetSource().GetPersistentVolumeName() == "" {
			continue
		}
		if _, ok := want[name]; ok {
			delete(want, name)
			ac.wait.needed(name)
			continue
		}
		if va.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		ok, left := ac.wait.mayDetach(name, ac.inUse(va, n))
		if !ok {
			if again == 0 || left < again {
				again = left
			}
			continue
		}
		if err := ac.detach(ctx, va); err != nil {
			return 0, err
		}
	}
	for name, a := range want {
		if err := ac.attach(ctx, name, a, node); err != nil {
			return 0, err
		}
	}
	if err := ac.updateVolumesAttached(ctx, n); err != nil {
		return 0, err
	}
	return again, nil
}

// updateVolumesAttached writes the node's status.volumesAttached: the
// volumes its VolumeAttachments say are attached, as Kubernetes' node
// status updater reports its actual state of the world (kubectl describe
// node shows them as "Attached Volumes"). The kubelet keeps the field as
// it finds it.
func (ac *Controller) updateVolumesAttached(ctx context.Context, n *corev1.Node) error {
	if n == nil || n.GetMetadata().GetDeletionTimestamp() != nil {
		return nil
	}
	node := n.GetMetadata().GetName()
	want := attachedVolumes(ac.attachments.Store().List(), ac.volumes.Store().Get, node)
	if sameAttached(n.GetStatus().GetVolumesAttached(), want) {
		return nil
	}
	type attachedVolume struct {
		Name       string `json:"name"`
		DevicePath string `json:"devicePath"`
	}
	list := make([]attachedVolume, len(want))
	for i, v := range want {
		list[i] = attachedVolume{Name: v.GetName(), DevicePath: v.GetDevicePath()}
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"volumesAttached": list}})
	if err != nil {
		return err
	}
	_, err = ac.c.CoreV1().Nodes().Patch(ctx, node, client.MergePatch, patch, client.WriteOptions{}, "status")
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("update the attached volumes of node %s: %w", node, err)
	}
	return nil
}

// attachedVolumes are the volumes the node's VolumeAttachments report
// attached, by their unique names (devicePath "", as Kubernetes' CSI
// attacher gives), sorted. A VolumeAttachment being deleted counts until
// it is gone: the volume stays attached until the attacher detaches it.
func attachedVolumes(vas []*storagev1.VolumeAttachment, pv func(string) (*corev1.PersistentVolume, bool), node string) []*corev1.AttachedVolume {
	var names []string
	for _, va := range vas {
		if va.GetSpec().GetNodeName() != node || !va.GetStatus().GetAttached() {
			continue
		}
		v, ok := pv(va.GetSpec().GetSource().GetPersistentVolumeName())
		csi := v.GetSpec().GetPersistentVolumeSource().GetCsi()
		if !ok || csi == nil {
			continue
		}
		names = append(names, csiname.UniqueVolumeName(csi.GetDriver(), csi.GetVolumeHandle()))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]*corev1.AttachedVolume, len(names))
	for i, name := range names {
		out[i] = &corev1.AttachedVolume{Name: name}
	}
	return out
}

func sameAttached(a, b []*corev1.AttachedVolume) bool {
	return slices.EqualFunc(a, b, func(x, y *corev1.AttachedVolume) bool {
		return x.GetName() == y.GetName() && x.GetDevicePath() == y.GetDevicePath()
	})
}

// desired are the attachments, by name, the node's pods need.
func (ac *Controller) desired(node string) map[string]attachment {
	out := map[string]attachment{}
	for _, p := range ac.pods.Store().ByIndex(informer.IndexNodeName, node) {
		if ph := p.GetStatus().GetPhase(); ph == "Succeeded" || ph == "Failed" {
			continue
		}
		for _, vol := range p.GetSpec().GetVolumes() {
			src := vol.GetVolumeSource().GetPersistentVolumeClaim()
			if src == nil {
				continue
			}
			if a, ok := ac.attachmentFor(p.GetMetadata().GetNamespace(), src.GetClaimName()); ok {
				out[csiname.AttachmentName(a.handle, a.driver, node)] = a
			}
		}
	}
	return out
}

// attachmentFor: the claim is bound to a CSI volume whose driver needs
// attaching.
func (ac *Controller) attachmentFor(ns, claim string) (attachment, bool) {
	cl, ok := ac.claims.Store().Get(ns + "/" + claim)
	if !ok || cl.GetSpec().GetVolumeName() == "" {
		return attachment{}, false
	}
	pv, ok := ac.volumes.Store().Get(cl.GetSpec().GetVolumeName())
	csi := pv.GetSpec().GetPersistentVolumeSource().GetCsi()
	if !ok || csi == nil || !ac.attachRequired(csi.GetDriver()) {
		return attachment{}, false
	}
	return attachment{pv: pv.GetMetadata().GetName(), driver: csi.GetDriver(), handle: csi.GetVolumeHandle()}, true
}

// attachRequired: the driver's CSIDriver says so, or there is none.
func (ac *Controller) attachRequired(driver string) bool {
	d, ok := ac.drivers.Store().Get(driver)
	if !ok || d.GetSpec().AttachRequired == nil {
		return true
	}
	return d.GetSpec().GetAttachRequired()
}

func (ac *Controller) attach(ctx context.Context, name string, a attachment, node string) error {
	va := &storagev1.VolumeAttachment{Metadata: &metav1.ObjectMeta{Name: name},
		Spec: &storagev1.VolumeAttachmentSpec{Attacher: a.driver, NodeName: node,
			Source: &storagev1.VolumeAttachmentSource{PersistentVolumeName: proto.String(a.pv)}}}
	_, err := ac.c.StorageV1().VolumeAttachments().Create(ctx, va, client.WriteOptions{})
	if err != nil && !client.IsAlreadyExists(err) {
		return fmt.Errorf("attach volume %s to node %s: %w", a.pv, node, err)
	}
	return nil
}

func (ac *Controller) detach(ctx context.Context, va *storagev1.VolumeAttachment) error {
	uid := va.GetMetadata().GetUid()
	_, err := ac.c.StorageV1().VolumeAttachments().Delete(ctx, va.GetMetadata().GetName(),
		&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: proto.String(uid)}})
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("detach %s: %w", va.GetMetadata().GetName(), err)
	}
	return nil
}
