package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"

	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

// callError is a webhook that could not be asked, or whose answer makes
// no sense: its failurePolicy decides whether the write goes on.
type callError struct {
	name   string
	reason error
}

func (e *callError) Error() string {
	return fmt.Sprintf("failed calling webhook %q: %v", e.name, e.reason)
}

func (e *callError) Unwrap() error { return e.reason }

// timedOut is the refusal of a write whose own request ran out of time
// while a webhook that failed open was being asked.
func timedOut() error {
	return apierrors.NewTimeout("Timeout: request did not complete within requested timeout")
}

// failed turns a webhook's failure into the write's: a failure to call it
// refuses the write as an internal error unless the webhook fails open
// (nil then); refusals and other errors stand.
func failed(ctx context.Context, h *hook, err error) error {
	var ce *callError
	if !errors.As(err, &ce) {
		return err
	}
	if !h.failOpen {
		slog.Warn("failed calling an admission webhook, failing closed", "webhook", h.name, "err", ce.reason)
		return apierrors.NewInternalError(err)
	}
	slog.Warn("failed calling an admission webhook, failing open", "webhook", h.name, "err", ce.reason)
	if ctx.Err() != nil {
		return timedOut()
	}
	return nil
}

// call sends the write to inv's webhook and returns its checked answer;
// a *callError when it could not be asked or answered nonsense, a
// BadRequest when it has side effects and the write is a dry run.
// Warnings in the answer go to the client.
func (x *Webhooks) call(ctx context.Context, inv *invocation, a *attributes, obj, old json.RawMessage) (*admissionResponse, error) {
	h := inv.hook
	if a.w.DryRun {
		switch {
		case h.sideEffects == nil:
			return nil, &callError{h.name, errors.New("Webhook SideEffects is nil")} //nolint:staticcheck // Kubernetes' words
		case *h.sideEffects != "None" && *h.sideEffects != "NoneOnDryRun":
			return nil, apierrors.NewBadRequest(fmt.Sprintf("admission webhook %q does not support dry run", h.name))
		}
	}
	version, ok := reviewVersion(h)
	if !ok {
		return nil, &callError{h.name, errors.New("could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)")}
	}
	uid := uuid.NewString()
	req, err := newRequest(a, inv, uid, obj, old)
	if err != nil {
		return nil, &callError{h.name, fmt.Errorf("could not create admission objects: %w", err)}
	}
	body, err := json.Marshal(&admissionReview{APIVersion: admissionGroup + "/" + version, Kind: "AdmissionReview", Request: req})
	if err != nil {
		return nil, &callError{h.name, fmt.Errorf("could not create admission objects: %w", err)}
	}
	c, err := x.clients.get(h.clientConfig)
	if err != nil {
		return nil, &callError{h.name, fmt.Errorf("could not get REST client: %w", err)}
	}
	callCtx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	var review admissionReview
	if err := c.post(callCtx, body, &review); err != nil {
		return nil, &callError{h.name, fmt.Errorf("failed to call webhook: %w", err)}
	}
	resp, err := verify(version, uid, h.mutating, &review)
	if err != nil {
		return nil, &callError{h.name, fmt.Errorf("received invalid webhook response: %w", err)}
	}
	for _, msg := range resp.Warnings {
		warning.Add(ctx, msg)
	}
	return resp, nil
}

// validate sends the write to every validating webhook it matches, all at
// once; the first refusal, in the webhooks' order, refuses it.
func (x *Webhooks) validate(ctx context.Context, w *registry.Write) error {
	hooks := *x.validatingHooks.Load()
	if len(hooks) == 0 {
		return nil
	}
	a := newAttributes(ctx, w)
	if a.exempt() {
		return nil
	}
	var invs []*invocation
	for _, h := range hooks {
		inv, err := x.matches(ctx, h, a)
		if err != nil {
			return err
		}
		if inv != nil {
			invs = append(invs, inv)
		}
	}
	if len(invs) == 0 {
		return nil
	}
	if ctx.Err() != nil {
		return timedOut()
	}
	type objects struct{ obj, old json.RawMessage }
	byVersion := map[string]objects{}
	for _, inv := range invs {
		if _, ok := byVersion[inv.version]; ok {
			continue
		}
		obj, old, err := objectsJSON(a, inv.version)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		byVersion[inv.version] = objects{obj, old}
	}
	errs := make([]error, len(invs))
	var wg sync.WaitGroup
	for i, inv := range invs {
		wg.Go(func() {
			o := byVersion[inv.version]
			resp, err := x.call(ctx, inv, a, o.obj, o.old)
			switch {
			case err != nil:
				errs[i] = failed(ctx, inv.hook, err)
			case !resp.Allowed:
				errs[i] = denied(inv.hook.name, resp.Status)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// admit sends the write to the mutating webhooks it matches, one after
// the other, each seeing what the ones before made of the object. A
// webhook whose reinvocationPolicy is IfNeeded is called once more, after
// the others, when a webhook after it changed the object.
func (x *Webhooks) admit(ctx context.Context, w *registry.Write) error {
	hooks := *x.mutatingHooks.Load()
	if len(hooks) == 0 {
		return nil
	}
	a := newAttributes(ctx, w)
	if a.exempt() {
		return nil
	}
	// invoked are the IfNeeded webhooks called since the last change;
	// reinvoke those a later change asks to call again.
	var invoked []string
	reinvoke := map[string]bool{}
	for round := 0; round < 2; round++ {
		if round == 1 && len(reinvoke) == 0 {
			break
		}
		for _, h := range hooks {
			inv, err := x.matches(ctx, h, a)
			if err != nil {
				return err
			}
			if inv == nil || round == 1 && !reinvoke[h.uid] {
				continue
			}
			changed, err := x.mutate(ctx, inv, a)
			if round == 0 {
				if changed {
					for _, uid := range invoked {
						reinvoke[uid] = true
					}
					invoked = nil
				}
				if h.reinvokeIfNeeded {
					invoked = append(invoked, h.uid)
				}
			}
			if err != nil {
				if err := failed(ctx, h, err); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// mutate asks one mutating webhook and applies its patch to the write's
// object; it tells whether the object changed.
func (x *Webhooks) mutate(ctx context.Context, inv *invocation, a *attributes) (bool, error) {
	h := inv.hook
	obj, old, err := objectsJSON(a, inv.version)
	if err != nil {
		return false, apierrors.NewInternalError(err)
	}
	resp, err := x.call(ctx, inv, a, obj, old)
	if err != nil {
		return false, err
	}
	if !resp.Allowed {
		return false, denied(h.name, resp.Status)
	}
	if len(resp.Patch) == 0 {
		return false, nil
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		return false, &callError{h.name, fmt.Errorf("received undecodable patch in webhook response: %w", err)}
	}
	if len(patch) == 0 {
		return false, nil
	}
	if a.w.Object == nil {
		return false, apierrors.NewInternalError(fmt.Errorf("admission webhook %q attempted to modify the object, which is not supported for this operation", h.name))
	}
	if pt := *resp.PatchType; pt != "JSONPatch" {
		return false, &callError{h.name, fmt.Errorf("unsupported patch type %q", pt)}
	}
	patched, err := patch.Apply(obj)
	if err != nil {
		return false, apierrors.NewInternalError(err)
	}
	next, err := decodePatched(a, patched)
	if err != nil {
		return false, apierrors.NewInternalError(err)
	}
	changed := !proto.Equal(a.w.Object, next)
	a.w.Object = next
	return changed, nil
}

// decodePatched reads a patched object back, with the apiVersion and kind
// the write's object had (the version sent may have been an equivalent
// one), pruned of what its kind does not declare (a custom resource's
// schema) and defaulted again, as Kubernetes treats a webhook's changes.
func decodePatched(a *attributes, data []byte) (proto.Message, error) {
	res := a.w.Resource
	next := res.New()
	if err := kjson.Unmarshal(data, next); err != nil {
		return nil, err
	}
	apiVersion, kind := object.TypeMeta(a.w.Object)
	object.SetTypeMeta(next, apiVersion, kind)
	if res.Strategy.Prune != nil {
		res.Strategy.Prune(next)
	}
	if res.Strategy.Default != nil {
		res.Strategy.Default(next)
	}
	return next, nil
}
