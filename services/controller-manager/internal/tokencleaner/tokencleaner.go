// Package tokencleaner deletes the Secrets of expired bootstrap tokens in
// kube-system, as Kubernetes' tokencleaner controller does: a Secret of
// type bootstrap.kubernetes.io/token whose expiration has passed (or
// cannot be read) is deleted, only that very Secret (by its uid); one that
// expires later is looked at again when it does.
package tokencleaner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/bootstraptoken"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
	"skiff.dev/services/controller-manager/internal/controller"
	"skiff.dev/services/controller-manager/internal/informers"
)

// Name is the controller's name in --controllers, Kubernetes'.
const Name = "tokencleaner"

// Controller cleans; its keys are "kube-system/<secret>".
type Controller struct {
	*controller.Controller
	c       *client.Client
	secrets *informer.Informer[*corev1.Secret]
	now     func() time.Time
}

// New wires the controller to the shared Secret informer; its deletes go
// through c.
func New(c *client.Client, f *informers.Factory) *Controller {
	tc := &Controller{c: c, secrets: f.Secrets(), now: time.Now}
	tc.Controller = &controller.Controller{Name: Name, Workers: 1, Reconciler: controller.ReconcileFunc(tc.reconcile),
		Keys: func() []string {
			var out []string
			for _, s := range tc.secrets.Store().ByIndex(informer.IndexNamespace, bootstraptoken.Namespace) {
				if isToken(s) {
					out = append(out, key(s))
				}
			}
			return out
		}}
	enqueue := func(s *corev1.Secret) {
		if isToken(s) {
			tc.Enqueue(key(s))
		}
	}
	tc.secrets.AddHandler(informer.Handler[*corev1.Secret]{OnAdd: enqueue, OnUpdate: func(_, s *corev1.Secret) { enqueue(s) }})
	return tc
}

func isToken(s *corev1.Secret) bool {
	return s.GetType() == bootstraptoken.SecretType && s.GetMetadata().GetNamespace() == bootstraptoken.Namespace
}

func key(s *corev1.Secret) string {
	return s.GetMetadata().GetNamespace() + "/" + s.GetMetadata().GetName()
}

func (tc *Controller) reconcile(ctx context.Context, key string) (time.Duration, error) {
	s, ok := tc.secrets.Store().Get(key)
	if !ok || !isToken(s) {
		return 0, nil
	}
	left, expired := bootstraptoken.Expiration(s, tc.now())
	if !expired {
		// A token without an expiration never expires; others are looked
		// at again when they do.
		return left, nil
	}
	ns, name, _ := strings.Cut(key, "/")
	uid := s.GetMetadata().GetUid()
	slog.InfoContext(ctx, "deleting an expired bootstrap token", "secret", key)
	_, err := tc.c.CoreV1().Secrets(ns).Delete(ctx, name, &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{Uid: &uid}})
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		return 0, fmt.Errorf("delete the expired bootstrap token %s: %w", key, err)
	}
	return 0, nil
}
