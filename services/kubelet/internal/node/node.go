// Package node keeps the kubelet's Node object: it registers the node with
// its addresses, capacity and labels, reports its conditions and images,
// and renews its Lease in kube-node-lease, the heartbeat the node
// lifecycle controller watches.
package node

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/events"
)

// Config describes the node.
type Config struct {
	Name   string
	IP     string
	Labels map[string]string
	// Capacity and Allocatable are the node's resources as Kubernetes
	// quantities.
	Capacity, Allocatable map[string]string
	KubeletPort           int32
	LeaseDurationSeconds  int32
	StatusFrequency       time.Duration
	Info                  *corev1.NodeSystemInfo
	// ExternalCloudProvider registers a new Node with the uninitialized
	// taint, which the cloud-controller removes once it has filled in
	// the Node (--cloud-provider=external).
	ExternalCloudProvider bool
}

// UninitializedTaint keeps pods off a Node a cloud-controller has not
// initialized yet.
const UninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"

// Probe reports the node's health and images.
type Probe interface {
	// RuntimeReady returns nil when the container runtime answers.
	RuntimeReady(ctx context.Context) error
	Pressure() Pressure
	Images(ctx context.Context) ([]*corev1.ContainerImage, error)
}

// Pressure says which resources run short.
type Pressure struct {
	Memory, Disk, PID bool
}

// Agent keeps the Node and its Lease current.
type Agent struct {
	cfg   Config
	c     *client.Client
	probe Probe
	// Events tells of the kubelet starting and of the node's conditions
	// changing (nil records nothing).
	Events *events.Recorder
	// VolumesInUse lists the volumes mounted on the node for
	// status.volumesInUse (nil reports none); a change is reported at
	// once.
	VolumesInUse func() []string
}

// NewAgent returns an agent; Register, then Run.
func NewAgent(cfg Config, c *client.Client, probe Probe) *Agent {
	return &Agent{cfg: cfg, c: c, probe: probe}
}

// Register creates the Node, or takes over an existing one of the same
// name (a restarted kubelet), and reports its status once. Others write
// the Node too (the controller-manager gives a new one its podCIDR): a
// conflict starts over from a fresh read.
func (a *Agent) Register(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := a.register(ctx)
		if err == nil || !client.IsConflict(err) || attempt == registerAttempts {
			return err
		}
	}
}

// registerAttempts bounds Register's attempts that meet a conflict.
const registerAttempts = 5

func (a *Agent) register(ctx context.Context) error {
	nodes := a.c.CoreV1().Nodes()
	n, err := nodes.Get(ctx, a.cfg.Name)
	switch {
	case client.IsNotFound(err):
		n = &corev1.Node{Metadata: &metav1.ObjectMeta{Name: a.cfg.Name, Labels: a.labels(nil)}, Spec: &corev1.NodeSpec{}}
		if a.cfg.ExternalCloudProvider {
			n.Spec.Taints = []*corev1.Taint{{Key: UninitializedTaint, Value: "true", Effect: "NoSchedule"}}
		}
		if n, err = nodes.Create(ctx, n, client.WriteOptions{FieldManager: "kubelet"}); err != nil {
			return fmt.Errorf("register node %s: %w", a.cfg.Name, err)
		}
		slog.InfoContext(ctx, "registered node", "node", a.cfg.Name)
	case err != nil:
		return fmt.Errorf("get node %s: %w", a.cfg.Name, err)
	default:
		labels := a.labels(n.GetMetadata().GetLabels())
		if !maps.Equal(labels, n.GetMetadata().GetLabels()) {
			n.Metadata.Labels = labels
			if n, err = nodes.Update(ctx, n, client.WriteOptions{FieldManager: "kubelet"}); err != nil {
				return fmt.Errorf("update node %s labels: %w", a.cfg.Name, err)
			}
		}
	}
	return a.updateStatus(ctx, n, a.conditions(ctx))
}

func (a *Agent) labels(existing map[string]string) map[string]string {
	out := maps.Clone(existing)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, a.cfg.Labels)
	return out
}

// Run renews the Lease every quarter of its duration and reports the
// status every StatusFrequency, or at once when a condition changes,
// until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	renew := time.NewTicker(time.Duration(a.cfg.LeaseDurationSeconds) * time.Second / 4)
	defer renew.Stop()
	check := time.NewTicker(time.Second)
	defer check.Stop()
	lastReport := time.Now()
	last := a.conditions(ctx)
	lastVolumes := a.volumesInUse()
	a.renewLease(ctx)
	if n, err := a.c.CoreV1().Nodes().Get(ctx, a.cfg.Name); err == nil {
		a.Events.Eventf(n, events.Normal, "Starting", "Starting kubelet.")
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-renew.C:
			a.renewLease(ctx)
		case <-check.C:
			now, volumes := a.conditions(ctx), a.volumesInUse()
			if time.Since(lastReport) < a.cfg.StatusFrequency && sameStatuses(now, last) && slices.Equal(volumes, lastVolumes) {
				continue
			}
			n, err := a.c.CoreV1().Nodes().Get(ctx, a.cfg.Name)
			if err == nil {
				err = a.updateStatus(ctx, n, now)
			}
			if err != nil {
				slog.WarnContext(ctx, "update node status", "node", a.cfg.Name, "err", err)
				continue
			}
			last, lastVolumes, lastReport = now, volumes, time.Now()
		}
	}
}

// updateStatus writes the node's status with the conditions just observed.
func (a *Agent) updateStatus(ctx context.Context, n *corev1.Node, conds []*corev1.NodeCondition) error {
	n = proto.Clone(n).(*corev1.Node)
	old := n.GetStatus()
	st := &corev1.NodeStatus{
		Capacity:        quantities(a.cfg.Capacity),
		Allocatable:     quantities(a.cfg.Allocatable),
		Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: a.cfg.IP}, {Type: "Hostname", Address: a.cfg.Name}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: a.cfg.KubeletPort}},
		NodeInfo:        a.cfg.Info,
		// The attach/detach controller's, kept as it is.
		VolumesAttached: old.GetVolumesAttached(),
		VolumesInUse:    a.volumesInUse(),
	}
	now := timestamppb.Now()
	for _, c := range conds {
		c = proto.Clone(c).(*corev1.NodeCondition)
		c.LastHeartbeatTime, c.LastTransitionTime = now, now
		for _, o := range old.GetConditions() {
			if o.GetType() == c.GetType() && o.GetStatus() == c.GetStatus() {
				c.LastTransitionTime = o.GetLastTransitionTime()
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	if images, err := a.probe.Images(ctx); err == nil {
		st.Images = images
	}
	n.Status = st
	if _, err := a.c.CoreV1().Nodes().UpdateStatus(ctx, n, client.WriteOptions{FieldManager: "kubelet"}); err != nil {
		return fmt.Errorf("update node %s status: %w", a.cfg.Name, err)
	}
	a.recordChanges(n, old.GetConditions(), st.Conditions)
	return nil
}

func (a *Agent) volumesInUse() []string {
	if a.VolumesInUse == nil {
		return nil
	}
	return a.VolumesInUse()
}

// recordChanges tells of each condition that is new or changed status, as
// Kubernetes' kubelet does: NodeHasSufficientMemory, NodeReady, ...
func (a *Agent) recordChanges(n *corev1.Node, old, now []*corev1.NodeCondition) {
	for _, c := range now {
		if slices.ContainsFunc(old, func(o *corev1.NodeCondition) bool {
			return o.GetType() == c.GetType() && o.GetStatus() == c.GetStatus()
		}) {
			continue
		}
		reason := "Node" + strings.TrimPrefix(c.GetReason(), "Kubelet")
		a.Events.Eventf(n, events.Normal, reason, "Node %s status is now: %s", a.cfg.Name, reason)
	}
}

// conditions are Ready (the runtime answers) and the three pressures.
func (a *Agent) conditions(ctx context.Context) []*corev1.NodeCondition {
	ready := &corev1.NodeCondition{Type: "Ready", Status: "True", Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if err := a.probe.RuntimeReady(ctx); err != nil {
		ready.Status, ready.Reason, ready.Message = "False", "KubeletNotReady", "container runtime is down: "+err.Error()
	}
	p := a.probe.Pressure()
	pressure := func(typ string, on bool, yes, no, msgYes, msgNo string) *corev1.NodeCondition {
		if on {
			return &corev1.NodeCondition{Type: typ, Status: "True", Reason: yes, Message: msgYes}
		}
		return &corev1.NodeCondition{Type: typ, Status: "False", Reason: no, Message: msgNo}
	}
	return []*corev1.NodeCondition{
		pressure("MemoryPressure", p.Memory, "KubeletHasInsufficientMemory", "KubeletHasSufficientMemory",
			"kubelet has insufficient memory available", "kubelet has sufficient memory available"),
		pressure("DiskPressure", p.Disk, "KubeletHasDiskPressure", "KubeletHasNoDiskPressure",
			"kubelet has disk pressure", "kubelet has no disk pressure"),
		pressure("PIDPressure", p.PID, "KubeletHasInsufficientPID", "KubeletHasSufficientPID",
			"kubelet has insufficient PID available", "kubelet has sufficient PID available"),
		ready,
	}
}

// renewLease keeps the node's Lease fresh; the Lease is owned by the Node,
// so it goes when the Node is deleted.
func (a *Agent) renewLease(ctx context.Context) {
	leases := a.c.CoordinationV1().Leases("kube-node-lease")
	l, err := leases.Get(ctx, a.cfg.Name)
	if client.IsNotFound(err) {
		n, nerr := a.c.CoreV1().Nodes().Get(ctx, a.cfg.Name)
		if nerr != nil {
			slog.WarnContext(ctx, "renew node lease", "node", a.cfg.Name, "err", nerr)
			return
		}
		holder, seconds := a.cfg.Name, a.cfg.LeaseDurationSeconds
		l = &coordinationv1.Lease{
			Metadata: &metav1.ObjectMeta{Name: a.cfg.Name, Namespace: "kube-node-lease",
				OwnerReferences: []*metav1.OwnerReference{{ApiVersion: "v1", Kind: "Node", Name: a.cfg.Name, Uid: n.GetMetadata().GetUid()}}},
			Spec: &coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, RenewTime: timestamppb.Now()},
		}
		_, err = leases.Create(ctx, l, client.WriteOptions{FieldManager: "kubelet"})
	} else if err == nil {
		l.Spec.RenewTime = timestamppb.Now()
		_, err = leases.Update(ctx, l, client.WriteOptions{FieldManager: "kubelet"})
	}
	if err != nil && ctx.Err() == nil {
		slog.WarnContext(ctx, "renew node lease", "node", a.cfg.Name, "err", err)
	}
}

func quantities(m map[string]string) map[string]*metav1.Quantity {
	out := make(map[string]*metav1.Quantity, len(m))
	for k, v := range m {
		out[k] = &metav1.Quantity{String_: v}
	}
	return out
}

func sameStatuses(a, b []*corev1.NodeCondition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GetType() != b[i].GetType() || a[i].GetStatus() != b[i].GetStatus() {
			return false
		}
	}
	return true
}
