package servicealloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/allocator"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/ipalloc"
	"skiff.dev/services/apiserver/internal/registry"
)

// Backend is the services backend with allocation around it.
type Backend struct {
	registry.Backend
	IPs   *ipalloc.Allocator
	Ports *allocator.Ports
	// Resource is the services resource: its patch metadata.
	Resource *registry.Resource
}

var _ registry.Backend = Backend{}

var errResource = apierrors.Resource{Resource: "services", Kind: "Service"}

// maxUpdateRetries bounds how often an update without a resourceVersion
// is tried again after losing a race with another writer.
const maxUpdateRetries = 5

// taken is what one request allocated, to release when it fails.
type taken struct {
	owner ipalloc.Owner
	ip    netip.Addr // invalid when none
	ports []int
}

// ownerOf is the IPAddress holder that svc is.
func ownerOf(svc *corev1.Service) ipalloc.Owner {
	return ipalloc.Owner{Namespace: svc.GetMetadata().GetNamespace(), Name: svc.GetMetadata().GetName()}
}

// Create allocates the cluster IP and node ports, then stores the Service;
// a failed create releases them.
func (b Backend) Create(ctx context.Context, obj proto.Message, opts registry.CreateOptions) (proto.Message, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return b.Backend.Create(ctx, obj, opts)
	}
	svc = proto.Clone(svc).(*corev1.Service)
	if svc.Spec == nil {
		svc.Spec = &corev1.ServiceSpec{}
	}
	if svc.Spec.Type == "" {
		svc.Spec.Type = "ClusterIP"
	}
	// The cluster IP's IPAddress names its Service, so a generated name
	// is chosen before allocating, and chosen again while it is taken.
	if registry.NeedsGeneratedName(svc) {
		return registry.CreateWithGeneratedName(ctx, svc, func(ctx context.Context, named proto.Message) (proto.Message, error) {
			return b.createNamed(ctx, named.(*corev1.Service), opts)
		})
	}
	return b.createNamed(ctx, svc, opts)
}

// createNamed allocates what a named Service needs and stores it,
// releasing the allocations when the write fails.
func (b Backend) createNamed(ctx context.Context, svc *corev1.Service, opts registry.CreateOptions) (proto.Message, error) {
	t, err := b.allocate(ctx, svc, nil, opts.DryRun)
	if err != nil {
		return nil, err
	}
	out, err := b.Backend.Create(ctx, svc, opts)
	if err != nil {
		b.release(ctx, t)
	}
	return out, err
}

// Update allocates what the new version needs and the old one did not
// have, and releases what the old one had and the new one drops.
func (b Backend) Update(ctx context.Context, obj proto.Message, opts registry.UpdateOptions) (proto.Message, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok || opts.Subresource != "" {
		return b.Backend.Update(ctx, obj, opts)
	}
	meta := svc.GetMetadata()
	pinned := meta.GetResourceVersion() != ""
	for attempt := 0; ; attempt++ {
		old, err := b.current(ctx, meta.GetNamespace(), meta.GetName())
		if err != nil {
			return nil, err
		}
		out, err := b.update(ctx, svc, old, opts)
		if apierrors.IsConflict(err) && !pinned && attempt < maxUpdateRetries {
			continue
		}
		return out, err
	}
}

// Patch applies the patch to the stored Service and updates it as Update
// does; status patches go straight through.
func (b Backend) Patch(ctx context.Context, namespace, name string, p registry.Patch, opts registry.UpdateOptions) (proto.Message, error) {
	if opts.Subresource != "" {
		return b.Backend.Patch(ctx, namespace, name, p, opts)
	}
	if st, ok := b.Backend.(applier); ok && p.Type == registry.PatchApply {
		return st.ApplyThrough(ctx, namespace, name, p, opts, b)
	}
	for attempt := 0; ; attempt++ {
		old, err := b.current(ctx, namespace, name)
		if err != nil {
			return nil, err
		}
		patched, err := applyPatch(ctx, old, p, b.Resource, opts.FieldValidation)
		if err != nil {
			return nil, err
		}
		if err := registry.CheckPatchedIdentity(patched, namespace, name); err != nil {
			return nil, err
		}
		pinned := patched.GetMetadata().GetResourceVersion() != old.GetMetadata().GetResourceVersion()
		out, err := b.update(ctx, patched, old, opts)
		if apierrors.IsConflict(err) && !pinned && attempt < maxUpdateRetries {
			continue
		}
		return out, err
	}
}

// applier is the store under the wrapper: a server-side apply is merged by
// it and written through the wrapper, so allocations follow.
type applier interface {
	ApplyThrough(ctx context.Context, namespace, name string, p registry.Patch, opts registry.UpdateOptions, through registry.Backend) (proto.Message, error)
}

// Delete releases the Service's cluster IP and node ports once it is gone;
// one kept by finalizers keeps them until the update that removes its last
// finalizer.
func (b Backend) Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions) (proto.Message, error) {
	out, err := b.Backend.Delete(ctx, namespace, name, opts)
	if err != nil || slices.Contains(opts.GetDryRun(), "All") {
		return out, err
	}
	if svc, ok := out.(*corev1.Service); ok && len(svc.GetMetadata().GetFinalizers()) == 0 {
		b.release(ctx, taken{owner: ownerOf(svc), ip: clusterIP(svc), ports: nodePorts(svc)})
	}
	return out, err
}

// goneWith reports whether an update of old, a Service being deleted,
// removed it (its last finalizer went).
func (b Backend) goneWith(ctx context.Context, old *corev1.Service) bool {
	if old.GetMetadata().GetDeletionTimestamp() == nil {
		return false
	}
	_, err := b.Backend.Get(ctx, old.GetMetadata().GetNamespace(), old.GetMetadata().GetName(), registry.GetOptions{})
	return apierrors.IsNotFound(err)
}

func (b Backend) current(ctx context.Context, namespace, name string) (*corev1.Service, error) {
	obj, err := b.Backend.Get(ctx, namespace, name, registry.GetOptions{})
	if err != nil {
		return nil, err
	}
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("the services backend returned a %T", obj))
	}
	return svc, nil
}

// update writes svc over old, which it was read as: the stored version
// unless the client pinned another resourceVersion.
func (b Backend) update(ctx context.Context, svc, old *corev1.Service, opts registry.UpdateOptions) (proto.Message, error) {
	svc = proto.Clone(svc).(*corev1.Service)
	if svc.Spec == nil {
		svc.Spec = &corev1.ServiceSpec{}
	}
	if svc.Spec.Type == "" {
		svc.Spec.Type = "ClusterIP"
	}
	if svc.GetMetadata().GetResourceVersion() == "" && svc.Metadata != nil {
		svc.Metadata.ResourceVersion = old.GetMetadata().GetResourceVersion()
	}
	dropTypeDependentFields(svc, old)
	patchAllocatedValues(svc, old)
	t, err := b.allocate(ctx, svc, old, opts.DryRun)
	if err != nil {
		return nil, err
	}
	out, err := b.Backend.Update(ctx, svc, opts)
	if err != nil {
		b.release(ctx, t)
		return nil, err
	}
	if !opts.DryRun {
		stored, _ := out.(*corev1.Service)
		if b.goneWith(ctx, old) {
			// The last finalizer went: the Service is gone with this update.
			b.release(ctx, taken{owner: ownerOf(old), ip: clusterIP(old), ports: nodePorts(old)})
		} else {
			b.release(ctx, dropped(old, stored))
		}
	}
	return out, nil
}

// dropped is what old held that now does not.
func dropped(old, now *corev1.Service) taken {
	t := taken{owner: ownerOf(old)}
	if ip := clusterIP(old); ip.IsValid() && ip != clusterIP(now) {
		t.ip = ip
	}
	keep := nodePorts(now)
	for _, p := range nodePorts(old) {
		if !slices.Contains(keep, p) {
			t.ports = append(t.ports, p)
		}
	}
	return t
}

// allocate gives svc what it needs and old (nil on create) does not hold:
// the requested values when free, otherwise free ones. On a dry run it
// only checks requested values. On error it has released what it took.
func (b Backend) allocate(ctx context.Context, svc, old *corev1.Service, dryRun bool) (taken, error) {
	t := taken{owner: ownerOf(svc)}
	var errs field.ErrorList
	sp := svc.Spec
	if needsClusterIP(svc) && !clusterIP(old).IsValid() {
		ip, ferr, err := b.allocateIP(ctx, sp, t.owner, dryRun)
		if err != nil {
			return t, err
		}
		if ferr != nil {
			errs = append(errs, ferr)
		}
		t.ip = ip
	}
	if needsNodePorts(svc) {
		ports, ferrs, err := b.allocatePorts(ctx, sp, nodePorts(old), dryRun)
		t.ports = ports
		if err != nil {
			b.release(ctx, t)
			return taken{}, err
		}
		errs = append(errs, ferrs...)
	}
	if len(errs) > 0 {
		b.release(ctx, t)
		return taken{}, apierrors.NewInvalid(errResource, svc.GetMetadata().GetName(), errs)
	}
	return t, nil
}

// allocateIP takes the requested cluster IP or a free one for owner. A
// value that is not an IPv4 address is left to validation.
func (b Backend) allocateIP(ctx context.Context, sp *corev1.ServiceSpec, owner ipalloc.Owner, dryRun bool) (netip.Addr, *field.Error, error) {
	path := field.NewPath("spec", "clusterIP")
	none := netip.Addr{}
	if sp.ClusterIp == "" {
		if dryRun {
			return none, nil, nil
		}
		ip, err := b.IPs.AllocateNext(ctx, owner)
		if errors.Is(err, ipalloc.ErrFull) {
			return none, field.Invalid(path, "", fmt.Sprintf("failed to allocate a cluster IP: the range %s is full", b.IPs.Ranges())), nil
		}
		if err != nil {
			return none, nil, internal(fmt.Errorf("allocate a cluster IP: %w", err))
		}
		sp.ClusterIp, sp.ClusterIps = ip.String(), []string{ip.String()}
		return ip, nil, nil
	}
	ip, perr := netip.ParseAddr(sp.ClusterIp)
	if perr != nil || !ip.Is4() {
		return none, nil, nil
	}
	if len(sp.ClusterIps) == 0 {
		sp.ClusterIps = []string{sp.ClusterIp}
	}
	var err error
	switch {
	case !b.IPs.Contains(ip):
		err = ipalloc.ErrNotInRange
	case dryRun:
		if has, herr := b.IPs.Has(ctx, ip); herr != nil {
			err = herr
		} else if has {
			err = ipalloc.ErrAllocated
		}
	default:
		err = b.IPs.Allocate(ctx, ip, owner)
	}
	switch {
	case err == nil:
		if dryRun {
			return none, nil, nil
		}
		return ip, nil, nil
	case errors.Is(err, ipalloc.ErrAllocated):
		return none, field.Invalid(path, sp.ClusterIp, "provided IP is already allocated"), nil
	case errors.Is(err, ipalloc.ErrNotInRange):
		return none, field.Invalid(path, sp.ClusterIp, fmt.Sprintf("provided IP is not in the valid range. The range of valid IPs is %s", b.IPs.Ranges())), nil
	default:
		return none, nil, internal(fmt.Errorf("allocate cluster IP %s: %w", sp.ClusterIp, err))
	}
}

// internal passes API errors (the allocator not ready yet) through and
// makes others an internal error.
func internal(err error) error {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return se
	}
	return apierrors.NewInternalError(err)
}

// allocatePorts takes the requested node ports not already held and free
// ones for ports that ask for none. It returns what it took even with
// field errors, for the caller to release.
func (b Backend) allocatePorts(ctx context.Context, sp *corev1.ServiceSpec, held []int, dryRun bool) ([]int, field.ErrorList, error) {
	var got []int
	var errs field.ErrorList
	mine := func(n int) bool { return slices.Contains(held, n) || slices.Contains(got, n) }
	for i, p := range sp.Ports {
		n := int(p.GetNodePort())
		if n == 0 || mine(n) {
			continue
		}
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		var err error
		switch {
		case !b.Ports.Range().Contains(n):
			err = allocator.ErrNotInRange
		case dryRun:
			if has, herr := b.Ports.Has(ctx, n); herr != nil {
				err = herr
			} else if has {
				err = allocator.ErrAllocated
			}
		default:
			if err = b.Ports.Allocate(ctx, n); err == nil {
				got = append(got, n)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, allocator.ErrAllocated):
			errs = append(errs, field.Invalid(path, n, "provided port is already allocated"))
		case errors.Is(err, allocator.ErrNotInRange):
			errs = append(errs, field.Invalid(path, n, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", b.Ports.Range())))
		default:
			return got, nil, apierrors.NewInternalError(fmt.Errorf("allocate node port %d: %w", n, err))
		}
	}
	if len(errs) > 0 || dryRun {
		return got, errs, nil
	}
	for i, p := range sp.Ports {
		if p.GetNodePort() != 0 {
			continue
		}
		n, err := b.Ports.AllocateNext(ctx)
		if errors.Is(err, allocator.ErrFull) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), 0,
				fmt.Sprintf("failed to allocate a node port: the range %s is full", b.Ports.Range())))
			continue
		}
		if err != nil {
			return got, nil, apierrors.NewInternalError(fmt.Errorf("allocate a node port: %w", err))
		}
		got = append(got, n)
		p.NodePort = int32(n)
	}
	return got, errs, nil
}

// release frees what a request took; a failure is logged, and the repair
// loop frees the value later.
func (b Backend) release(ctx context.Context, t taken) {
	ctx = context.WithoutCancel(ctx)
	if t.ip.IsValid() {
		if err := b.IPs.Release(ctx, t.ip, t.owner); err != nil {
			slog.WarnContext(ctx, "release cluster IP", "ip", t.ip, "err", err)
		}
	}
	for _, p := range t.ports {
		if err := b.Ports.Release(ctx, p); err != nil {
			slog.WarnContext(ctx, "release node port", "port", p, "err", err)
		}
	}
}
