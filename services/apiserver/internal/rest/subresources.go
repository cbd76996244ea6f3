package rest

import (
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/patchmeta"
	"skiff.dev/services/apiserver/internal/registry"
)

// scaleResource is autoscaling/v1 Scale, the shape of every scale
// subresource; its patch metadata lets strategic merge patches (kubectl
// patch --subresource=scale) apply as they do in Kubernetes.
var scaleResource = &registry.Resource{Group: "autoscaling", Version: "v1", Plural: "scale", Kind: "Scale",
	New: func() proto.Message { return &autoscalingv1.Scale{} }, PatchMeta: patchmeta.For(&autoscalingv1.Scale{})}

func (h *Handler) serveScale(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	sc, ok := s.Backend.(registry.Scaler)
	if !ok {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/scale"))
		return
	}
	ctx := r.Context()
	var out *autoscalingv1.Scale
	var err error
	switch info.Verb {
	case "get":
		out, err = sc.GetScale(ctx, info.Namespace, info.Name)
	case "update":
		var in proto.Message
		if in, err = decodeObject(w, r, scaleResource); err == nil {
			out, err = sc.UpdateScale(ctx, info.Namespace, info.Name, in.(*autoscalingv1.Scale))
		}
	case "patch":
		out, err = patchScale(r, sc, info)
	default:
		err = apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), r.Method+" scale")
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, scaleResource, http.StatusOK, out)
}

// patchScale applies a JSON, merge or strategic merge patch to the Scale
// (kubectl scale sends a merge patch of spec.replicas, kubectl patch
// --subresource=scale a strategic one).
func patchScale(r *http.Request, sc registry.Scaler, info requestInfo) (*autoscalingv1.Scale, error) {
	patchType := mediaTypeOnly(r.Header.Get("Content-Type"))
	if err := registry.CheckPatchType(patchType, scaleResource.PatchMeta); err != nil {
		return nil, err
	}
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	audit.LogRequestPatch(r.Context(), data)
	current, err := sc.GetScale(r.Context(), info.Namespace, info.Name)
	if err != nil {
		return nil, err
	}
	original, err := kjson.Marshal(current)
	if err != nil {
		return nil, fmt.Errorf("encode scale: %w", err)
	}
	patched, err := registry.ApplyPatchJSON(original, registry.Patch{Type: patchType, Data: data}, scaleResource.PatchMeta)
	if err != nil {
		return nil, err
	}
	next := &autoscalingv1.Scale{}
	if err := kjson.Unmarshal(patched, next); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch produced a Scale that cannot be read: %v", err))
	}
	return sc.UpdateScale(r.Context(), info.Namespace, info.Name, next)
}

func (h *Handler) serveBinding(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	b, ok := s.Backend.(registry.Binder)
	if !ok || info.Verb != "create" {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/binding"))
		return
	}
	bindingResource := &registry.Resource{Version: "v1", Plural: "bindings", Kind: "Binding",
		New: func() proto.Message { return &corev1.Binding{} }}
	in, err := decodeObject(w, r, bindingResource)
	if err != nil {
		writeError(w, r, err)
		return
	}
	binding := in.(*corev1.Binding)
	if binding.Metadata == nil {
		binding.Metadata = &metav1.ObjectMeta{}
	}
	if binding.Metadata.Name == "" {
		binding.Metadata.Name = info.Name
	}
	if binding.Metadata.Namespace == "" {
		binding.Metadata.Namespace = info.Namespace
	}
	if binding.Metadata.Name != info.Name || binding.Metadata.Namespace != info.Namespace {
		writeError(w, r, apierrors.NewBadRequest("the name and namespace of the binding must match the pod's"))
		return
	}
	if err := b.Bind(r.Context(), binding); err != nil {
		writeError(w, r, err)
		return
	}
	writeObject(w, r, mediaJSON, http.StatusCreated, &metav1.Status{Kind: "Status", ApiVersion: "v1",
		Metadata: &metav1.ListMeta{}, Status: "Success", Code: http.StatusCreated})
}

// servePart serves a subresource that reads the whole object and writes
// one part of it (pods/ephemeralcontainers).
func (h *Handler) servePart(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	if _, ok := s.Resource.Parts[info.Subresource]; !ok {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/"+info.Subresource))
		return
	}
	switch info.Verb {
	case "get":
		h.get(w, r, info, s)
	case "update":
		h.update(w, r, info, s, info.Subresource)
	case "patch":
		h.patch(w, r, info, s, info.Subresource)
	default:
		writeError(w, r, apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), r.Method+" "+info.Subresource))
	}
}

func (h *Handler) serveFinalize(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	f, ok := s.Backend.(registry.Finalizer)
	if !ok || info.Verb != "update" {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/finalize"))
		return
	}
	obj, err := decodeObject(w, r, s.Resource)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := f.Finalize(r.Context(), obj, registry.UpdateOptions{})
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusOK, out)
}

// evictionResource is policy/v1 Eviction, the body of pods/eviction.
var evictionResource = &registry.Resource{Group: "policy", Version: "v1", Plural: "evictions", Kind: "Eviction",
	New: func() proto.Message { return &policyv1.Eviction{} }}

// serveEviction evicts a pod (what kubectl drain does): the body is a
// policy/v1 (or v1beta1, the same shape) Eviction naming the pod; the
// answer is a Success Status, or the Status of the refusal.
func (h *Handler) serveEviction(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	ev, ok := s.Backend.(registry.Evictor)
	if !ok || info.Verb != "create" {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/eviction"))
		return
	}
	eviction, err := decodeEviction(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if eviction.Metadata == nil {
		eviction.Metadata = &metav1.ObjectMeta{}
	}
	if eviction.Metadata.Namespace == "" {
		eviction.Metadata.Namespace = info.Namespace
	}
	if eviction.Metadata.Name != info.Name {
		writeError(w, r, apierrors.NewBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	if eviction.Metadata.Namespace != info.Namespace {
		writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	if err := ev.Evict(r.Context(), eviction, len(r.URL.Query()["dryRun"]) > 0); err != nil {
		writeError(w, r, err)
		return
	}
	writeObject(w, r, mediaJSON, http.StatusCreated, &metav1.Status{Kind: "Status", ApiVersion: "v1",
		Metadata: &metav1.ListMeta{}, Status: "Success", Code: http.StatusCreated})
}

// decodeEviction reads an Eviction of policy/v1 or policy/v1beta1, which
// Kubernetes both accepts.
func decodeEviction(w http.ResponseWriter, r *http.Request) (*policyv1.Eviction, error) {
	level, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	format, ok := contentFormat(r.Header.Get("Content-Type"))
	if !ok {
		return nil, apierrors.NewUnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	ev := &policyv1.Eviction{}
	if err := decodeAs(format, data, ev, level, w); err != nil {
		return nil, err
	}
	if ev.GetApiVersion() == "policy/v1beta1" {
		ev.ApiVersion = "policy/v1"
	}
	if err := checkTypeMeta(evictionResource, ev); err != nil {
		return nil, err
	}
	audit.LogRequestObject(r.Context(), ev)
	return ev, nil
}
