// Package admission is the apiserver's admission chain: named plugins, run
// in Kubernetes' order on every write of every built-in kind, after
// defaulting and before the write, each able to change the object
// (mutating, before validation) and to refuse the write (validating,
// after validation; deletes too). Which plugins run is Kubernetes'
// default set changed by --enable-admission-plugins and
// --disable-admission-plugins.
package admission

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"skiff.dev/services/apiserver/internal/registry"
)

// Plugin is one admission plugin. Either function may be nil; each
// decides for itself which writes it looks at (by w.Resource and
// w.Operation).
type Plugin struct {
	Name     string
	Mutate   func(ctx context.Context, w *registry.Write) error
	Validate func(ctx context.Context, w *registry.Write) error
	// Start, when set, fills what the plugin reads of other resources
	// (LimitRanges, ResourceQuotas) before the server serves, and keeps it
	// current until ctx ends; the channel it returns closes once that has
	// stopped.
	Start func(ctx context.Context) (<-chan struct{}, error)
}

// Order is Kubernetes' order of the admission plugins Skiff knows; the
// chain runs them in it whatever order the flags name them in.
var Order = []string{
	"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "Priority",
	"DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
	"RuntimeClass", "PodSecurity", "DefaultIngressClass", "MutatingAdmissionWebhook",
	"ValidatingAdmissionWebhook", "ResourceQuota",
}

// DefaultEnabled are the plugins that run unless disabled: Kubernetes'
// default set, plus NodeRestriction, which Kubernetes leaves to the
// cluster's installer and Skiff turns on so a kubelet can change only its
// own Node and pods.
var DefaultEnabled = []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "Priority",
	"DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "RuntimeClass", "PodSecurity", "DefaultIngressClass", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"}

// Chain runs plugins in order.
type Chain []Plugin

var _ registry.Admission = Chain(nil)

// Mutate runs the mutating plugins; the first refusal stops the write.
func (c Chain) Mutate(ctx context.Context, w *registry.Write) error {
	for _, p := range c {
		if p.Mutate != nil {
			if err := p.Mutate(ctx, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate runs the validating plugins; the first refusal stops the write.
func (c Chain) Validate(ctx context.Context, w *registry.Write) error {
	for _, p := range c {
		if p.Validate != nil {
			if err := p.Validate(ctx, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// Start starts the plugins of the chain that read other resources; the
// channel closes when all of them have stopped, after ctx ended.
func (c Chain) Start(ctx context.Context) (<-chan struct{}, error) {
	var started []<-chan struct{}
	for _, p := range c {
		if p.Start == nil {
			continue
		}
		done, err := p.Start(ctx)
		if err != nil {
			return nil, fmt.Errorf("start admission plugin %s: %w", p.Name, err)
		}
		started = append(started, done)
	}
	all := make(chan struct{})
	go func() {
		defer close(all)
		for _, done := range started {
			<-done
		}
	}()
	return all, nil
}

// Names lists the chain's plugins, in order.
func (c Chain) Names() []string {
	out := make([]string, len(c))
	for i, p := range c {
		out[i] = p.Name
	}
	return out
}

// Build makes the chain of the default plugins plus enable minus disable,
// from the plugins available (by name). A name that is not a known plugin,
// or that is both enabled and disabled, is an error; a known plugin that
// is not available yet is an error when enabled.
func Build(available []Plugin, enable, disable []string) (Chain, error) {
	for _, n := range append(slices.Clone(enable), disable...) {
		if !slices.Contains(Order, n) {
			return nil, fmt.Errorf("unknown admission plugin %q (known: %s)", n, strings.Join(Order, ", "))
		}
	}
	for _, n := range enable {
		if slices.Contains(disable, n) {
			return nil, fmt.Errorf("admission plugin %q is both enabled and disabled", n)
		}
	}
	on := map[string]bool{}
	for _, n := range append(slices.Clone(DefaultEnabled), enable...) {
		on[n] = true
	}
	for _, n := range disable {
		delete(on, n)
	}
	var chain Chain
	for _, n := range Order {
		if !on[n] {
			continue
		}
		i := slices.IndexFunc(available, func(p Plugin) bool { return p.Name == n })
		if i < 0 {
			if slices.Contains(enable, n) {
				return nil, fmt.Errorf("admission plugin %q is not built yet", n)
			}
			continue
		}
		chain = append(chain, available[i])
	}
	return chain, nil
}
