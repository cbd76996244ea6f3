// Package podgc is Kubernetes' pod garbage collector: pods bound to a Node
// that no longer exists have no kubelet to finish their deletion, so once
// the Node has stayed missing for a quarantine period they are marked
// Failed (with a DisruptionTarget condition) and deleted at once. Without
// it such pods stay forever, and so does a namespace that holds them.
// Pods being deleted on a Node that is not Ready and that an administrator
// tainted node.kubernetes.io/out-of-service (the node is known to be down)
// are deleted at once too. Pods on a Node that is merely down are left to
// the node lifecycle controller, as in Kubernetes.
package podgc

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers, as Kubernetes names it.
const Name = "podgc"

// Quarantine is how long a Node must stay missing before its pods are
// deleted, Kubernetes' value.
const Quarantine = 40 * time.Second

// Controller is the pod garbage collector. Its keys are "node/<name>".
type Controller struct {
	*controller.Controller
	c     *client.Client
	pods  *informer.Informer[*corev1.Pod]
	nodes *informer.Informer[*corev1.Node]
	q     *quarantine
}

const nodeKey = "node/"

// New wires the collector to the shared pod and node informers.
func New(c *client.Client, f *informers.Factory) *Controller {
	gc := &Controller{c: c, pods: f.Pods(), nodes: f.Nodes(), q: newQuarantine(Quarantine, time.Now)}
	gc.Controller = &controller.Controller{Name: Name, Workers: 1, Reconciler: controller.ReconcileFunc(gc.reconcile),
		Keys: gc.keys}
	gc.pods.AddHandler(informer.Handler[*corev1.Pod]{
		OnAdd:    gc.podChanged,
		OnUpdate: func(_, p *corev1.Pod) { gc.podChanged(p) },
	})
	gc.nodes.AddHandler(informer.Handler[*corev1.Node]{
		OnAdd:    gc.nodeChanged,
		OnUpdate: func(_, n *corev1.Node) { gc.nodeChanged(n) },
		OnDelete: func(n *corev1.Node) { gc.Enqueue(nodeKey + n.GetMetadata().GetName()) },
	})
	return gc
}

// keys are the nodes that pods are bound to but the cache does not hold,
// and those out of service.
func (gc *Controller) keys() []string {
	var out []string
	for _, p := range gc.pods.Store().List() {
		if n := p.GetSpec().GetNodeName(); n != "" && !gc.nodeKnown(n) && !slices.Contains(out, nodeKey+n) {
			out = append(out, nodeKey+n)
		}
	}
	for _, n := range gc.nodes.Store().List() {
		if outOfService(n) {
			out = append(out, nodeKey+n.GetMetadata().GetName())
		}
	}
	return out
}

func (gc *Controller) nodeChanged(n *corev1.Node) {
	if outOfService(n) {
		gc.Enqueue(nodeKey + n.GetMetadata().GetName())
	}
}

func (gc *Controller) nodeKnown(name string) bool {
	_, ok := gc.nodes.Store().Get(name)
	return ok
}

func (gc *Controller) podChanged(p *corev1.Pod) {
	n := p.GetSpec().GetNodeName()
	if n == "" {
		return
	}
	node, known := gc.nodes.Store().Get(n)
	if !known || (p.GetMetadata().GetDeletionTimestamp() != nil && outOfService(node)) {
		gc.Enqueue(nodeKey + n)
	}
}

func (gc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	node, ok := strings.CutPrefix(key, nodeKey)
	if !ok {
		return 0, nil
	}
	if n, known := gc.nodes.Store().Get(node); known {
		gc.q.release(node)
		if outOfService(n) {
			return 0, gc.outOfService(ctx, node)
		}
		return 0, nil
	}
	return gc.orphans(ctx, node)
}

// outOfService deletes the pods being deleted on a node that is out of
// service: no kubelet will finish them.
func (gc *Controller) outOfService(ctx context.Context, node string) error {
	for _, p := range gc.pods.Store().ByIndex(informer.IndexNodeName, node) {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			continue
		}
		if err := gc.forceDelete(ctx, p, ""); err != nil {
			return err
		}
		slog.InfoContext(ctx, "deleted a terminating pod of a node out of service", "pod", informer.KeyOf(p), "node", node)
	}
	return nil
}

// orphans deletes the pods bound to node once the node has been missing
// for the quarantine and the apiserver confirms it is gone.
func (gc *Controller) orphans(ctx context.Context, node string) (time.Duration, error) {
	pods := gc.pods.Store().ByIndex(informer.IndexNodeName, node)
	if gc.nodeKnown(node) || len(pods) == 0 {
		gc.q.release(node)
		return 0, nil
	}
	if wait := gc.q.wait(node); wait > 0 {
		return wait, nil
	}
	_, err := gc.c.CoreV1().Nodes().Get(ctx, node)
	switch {
	case err == nil:
		gc.q.release(node) // the cache has not caught up with a new Node
		return 0, nil
	case !client.IsNotFound(err):
		return 0, fmt.Errorf("look up node %s: %w", node, err)
	}
	for _, p := range pods {
		if err := gc.forceDelete(ctx, p, "PodGC: node no longer exists"); err != nil {
			return 0, err
		}
		slog.InfoContext(ctx, "deleted a pod whose node is gone", "pod", informer.KeyOf(p), "node", node)
	}
	gc.q.release(node)
	return 0, nil
}

// forceDelete marks a pod that has not finished Failed (nothing else
// would: no kubelet reports on it), with a DisruptionTarget condition
// saying why when there is a message, then deletes it without a grace
// period.
func (gc *Controller) forceDelete(ctx context.Context, p *corev1.Pod, message string) error {
	m := p.GetMetadata()
	pods := gc.c.CoreV1().Pods(m.GetNamespace())
	if phase := p.GetStatus().GetPhase(); phase != "Succeeded" && phase != "Failed" {
		// A strategic merge patch of the status (conditions merge by
		// type), as Kubernetes' collector writes it: its role may patch
		// pods/status, not update it.
		status := &corev1.PodStatus{Phase: "Failed"}
		if message != "" {
			status.Conditions = []*corev1.PodCondition{{Type: "DisruptionTarget",
				Status: "True", Reason: "DeletionByPodGC", Message: message, LastTransitionTime: timestamppb.Now()}}
		}
		data, err := kjson.Marshal(status)
		if err != nil {
			return err
		}
		patch := fmt.Sprintf(`{"metadata":{"uid":%q},"status":%s}`, m.GetUid(), data)
		_, err = pods.Patch(ctx, m.GetName(), client.StrategicPatch, []byte(patch), client.WriteOptions{}, "status")
		switch {
		case client.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("mark pod %s Failed: %w", informer.KeyOf(p), err)
		}
	}
	zero, uid := int64(0), m.GetUid()
	_, err := pods.Delete(ctx, m.GetName(), &metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{Uid: &uid}})
	if err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", informer.KeyOf(p), err)
	}
	return nil
}
