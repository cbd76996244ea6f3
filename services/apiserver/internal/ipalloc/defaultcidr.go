package ipalloc

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// DefaultCIDR keeps the ServiceCIDR named "kubernetes", the range of
// --service-cluster-ip-range, as kube-apiserver's default ServiceCIDR
// controller does: made when missing (also after someone deleted it),
// marked Ready when it matches the flag. A default range that no longer
// matches the flag (the flag changed) is left as it is and reported:
// moving a cluster to another range means adding the new ServiceCIDR and
// deleting the old one.
type DefaultCIDR struct {
	CIDRs registry.Backend
	Range netip.Prefix

	reportedMismatch bool
}

// Ensure makes the default ServiceCIDR exist and be Ready.
func (d *DefaultCIDR) Ensure(ctx context.Context) error {
	want := []string{d.Range.Masked().String()}
	obj, err := d.CIDRs.Get(ctx, "", DefaultCIDRName, registry.GetOptions{})
	if apierrors.IsNotFound(err) {
		slog.InfoContext(ctx, "creating the default ServiceCIDR", "name", DefaultCIDRName, "cidrs", want)
		obj, err = d.CIDRs.Create(ctx, &networkingv1.ServiceCIDR{
			Metadata: &metav1.ObjectMeta{Name: DefaultCIDRName},
			Spec:     &networkingv1.ServiceCIDRSpec{Cidrs: want},
		}, registry.CreateOptions{})
		if apierrors.IsAlreadyExists(err) { // another apiserver made it
			obj, err = d.CIDRs.Get(ctx, "", DefaultCIDRName, registry.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("the default ServiceCIDR: %w", err)
	}
	sc, ok := obj.(*networkingv1.ServiceCIDR)
	if !ok || sc.GetMetadata().GetDeletionTimestamp() != nil {
		return nil // being deleted: made again once it is gone
	}
	if !slices.Equal(sc.GetSpec().GetCidrs(), want) {
		if !d.reportedMismatch {
			slog.WarnContext(ctx, "the default ServiceCIDR does not match --service-cluster-ip-range; add a ServiceCIDR for the new range and delete the old one, or set the flag back",
				"name", DefaultCIDRName, "cidrs", sc.GetSpec().GetCidrs(), "flag", want)
			d.reportedMismatch = true
		}
		return nil
	}
	d.reportedMismatch = false
	for _, c := range sc.GetStatus().GetConditions() {
		if c.GetType() == ConditionReady && c.GetStatus() != "Unknown" {
			return nil // True, or False from the ServiceCIDR controller
		}
	}
	if sc.Status == nil {
		sc.Status = &networkingv1.ServiceCIDRStatus{}
	}
	sc.Status.Conditions = slices.DeleteFunc(sc.Status.Conditions, func(c *metav1.Condition) bool { return c.GetType() == ConditionReady })
	sc.Status.Conditions = append(sc.Status.Conditions, &metav1.Condition{
		Type: ConditionReady, Status: "True", Message: "Kubernetes default Service CIDR is ready",
		LastTransitionTime: timestamppb.New(time.Now().Truncate(time.Second)),
	})
	if _, err := d.CIDRs.UpdateStatus(ctx, sc, registry.UpdateOptions{Subresource: "status"}); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("mark the default ServiceCIDR ready: %w", err)
	}
	return nil
}

// Run ensures the default ServiceCIDR every interval until ctx ends.
func (d *DefaultCIDR) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := d.Ensure(ctx); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "keep the default ServiceCIDR", "err", err)
		}
	}
}
