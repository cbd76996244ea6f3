// Package clusterroleaggregation keeps the rules of every ClusterRole
// that has an aggregationRule equal to the union of the rules of the
// ClusterRoles its selectors pick, as Kubernetes' clusterrole-aggregation
// controller does: selectors in order, the selected roles by name, each
// rule once, the aggregated role itself never among them. The rules are
// written only when they differ from the union; an empty union clears
// only rules the controller wrote itself, as Kubernetes' apply does.
//
// Which role a change matters to is not tracked: any ClusterRole added,
// changed or deleted puts every aggregated role on the queue, as in
// Kubernetes (there are few ClusterRoles, and a failed write is then
// retried for its role alone).
package clusterroleaggregation

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	rbacv1 "skiff.dev/api/rbac/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers (Kubernetes' alias of
// clusterrole-aggregation-controller).
const Name = "clusterrole-aggregation"

// FieldManager is the manager the controller writes rules as, Kubernetes'.
const FieldManager = "clusterrole-aggregation-controller"

// Controller aggregates; its keys are ClusterRole names.
type Controller struct {
	*controller.Controller
	roles  *informer.Informer[*rbacv1.ClusterRole]
	client *client.Resource[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList]
}

// New wires the controller to the shared ClusterRole informer.
func New(c *client.Client, f *informers.Factory, workers int) *Controller {
	ac := &Controller{
		roles:  informers.For[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList](f),
		client: client.For[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList](c, ""),
	}
	ac.Controller = &controller.Controller{Name: Name, Workers: workers,
		Reconciler: controller.ReconcileFunc(ac.reconcile), Keys: ac.aggregated}
	enqueue := func(*rbacv1.ClusterRole) {
		for _, name := range ac.aggregated() {
			ac.Enqueue(name)
		}
	}
	ac.roles.AddHandler(informer.Handler[*rbacv1.ClusterRole]{OnAdd: enqueue,
		OnUpdate: func(_, r *rbacv1.ClusterRole) { enqueue(r) }, OnDelete: enqueue})
	return ac
}

// aggregated are the names of the cached roles with an aggregation rule.
func (ac *Controller) aggregated() []string {
	var out []string
	for _, r := range ac.roles.Store().List() {
		if r.GetAggregationRule() != nil {
			out = append(out, r.GetMetadata().GetName())
		}
	}
	return out
}

func (ac *Controller) reconcile(ctx context.Context, name string) (time.Duration, error) {
	role, ok := ac.roles.Store().Get(name)
	if !ok {
		return 0, nil
	}
	rules, ok := aggregate(role, ac.roles.Store().List())
	if !ok || sameRules(rules, role.GetRules()) || len(rules) == 0 && !ownsRules(role) {
		return 0, nil
	}
	// An update of the cached role: a newer one fails with a conflict,
	// which the runner retries once the cache has caught up.
	out := proto.Clone(role).(*rbacv1.ClusterRole)
	out.Rules = rules
	if _, err := ac.client.Update(ctx, out, client.WriteOptions{FieldManager: FieldManager}); err != nil && !client.IsNotFound(err) {
		return 0, fmt.Errorf("update the rules of aggregated ClusterRole %s: %w", name, err)
	}
	return 0, nil
}
