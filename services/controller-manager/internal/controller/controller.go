// Package controller holds what the controller-manager's controllers share:
// the reconcile runner (from skiff.dev/pkg/controller, shared with the
// cloud-controller) and the expectations of writes the caches have not
// shown yet.
package controller

import "skiff.dev/pkg/controller"

// The runner, as skiff.dev/pkg/controller defines it.
type (
	Controller    = controller.Controller
	Reconciler    = controller.Reconciler
	ReconcileFunc = controller.ReconcileFunc
	Observer      = controller.Observer
)

// ErrRetry asks to look again soon without an error logged.
var ErrRetry = controller.ErrRetry

// RetrySoon is when a key that returned ErrRetry is looked at again.
const RetrySoon = controller.RetrySoon
