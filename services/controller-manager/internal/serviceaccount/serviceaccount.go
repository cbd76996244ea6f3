// Package serviceaccount gives every namespace its default ServiceAccount,
// and puts it back when it is deleted.
package serviceaccount

import (
	"context"
	"fmt"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers.
const Name = "serviceaccount"

// DefaultName is the ServiceAccount every namespace has.
const DefaultName = "default"

// Controller is the ServiceAccount controller; its keys are namespaces.
type Controller struct {
	*controller.Controller
	c   *client.Client
	nss *informer.Informer[*corev1.Namespace]
	sas *informer.Informer[*corev1.ServiceAccount]
}

// New wires the controller to the shared informers.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	sc := &Controller{c: c, nss: f.Namespaces(), sas: f.ServiceAccounts()}
	sc.Controller = &controller.Controller{Name: Name, Workers: workers, Reconciler: controller.ReconcileFunc(sc.reconcile),
		Keys: func() []string {
			var out []string
			for _, ns := range sc.nss.Store().List() {
				out = append(out, ns.GetMetadata().GetName())
			}
			return out
		}}
	enqueueNS := func(ns *corev1.Namespace) { sc.Enqueue(ns.GetMetadata().GetName()) }
	sc.nss.AddHandler(informer.Handler[*corev1.Namespace]{OnAdd: enqueueNS, OnUpdate: func(_, ns *corev1.Namespace) { enqueueNS(ns) }})
	sc.sas.AddHandler(informer.Handler[*corev1.ServiceAccount]{OnDelete: func(sa *corev1.ServiceAccount) {
		if sa.GetMetadata().GetName() == DefaultName {
			sc.Enqueue(sa.GetMetadata().GetNamespace())
		}
	}})
	return sc
}

func (sc *Controller) reconcile(ctx context.Context, ns string) (time.Duration, error) {
	n, ok := sc.nss.Store().Get(ns)
	if !ok || n.GetMetadata().GetDeletionTimestamp() != nil || n.GetStatus().GetPhase() == "Terminating" {
		return 0, nil
	}
	if _, ok := sc.sas.Store().Get(ns + "/" + DefaultName); ok {
		return 0, nil
	}
	sa := &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: DefaultName, Namespace: ns}}
	_, err := sc.c.CoreV1().ServiceAccounts(ns).Create(ctx, sa, client.WriteOptions{})
	if err != nil && !client.IsAlreadyExists(err) {
		return 0, fmt.Errorf("create the default service account of namespace %s: %w", ns, err)
	}
	return 0, nil
}
