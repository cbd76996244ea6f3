package rest

import (
	"fmt"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

// answer writes obj in the negotiated encoding, transformed to a Table or
// partial metadata when asked.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, res *registry.Resource, code int, obj proto.Message) {
	enc, ok := negotiate(r.Header.Get("Accept"), !res.NoTable)
	if !ok {
		writeError(w, r, apierrors.NewNotAcceptable(r.Header.Get("Accept")))
		return
	}
	out, err := h.transform(r, res, enc, obj)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeObject(w, r, enc.mediaType, code, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	obj, err := s.Backend.Get(r.Context(), info.Namespace, info.Name,
		registry.GetOptions{ResourceVersion: r.URL.Query().Get("resourceVersion")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusOK, obj)
}

func listOptions(r *http.Request) (registry.ListOptions, error) {
	q := r.URL.Query()
	opts := registry.ListOptions{
		LabelSelector:        q.Get("labelSelector"),
		FieldSelector:        q.Get("fieldSelector"),
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: q.Get("resourceVersionMatch"),
		Continue:             q.Get("continue"),
		AllowWatchBookmarks:  queryBool(r, "allowWatchBookmarks"),
	}
	for name, dst := range map[string]*int64{"limit": &opts.Limit, "timeoutSeconds": &opts.TimeoutSeconds} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return opts, apierrors.NewBadRequest(fmt.Sprintf("%s must be a non-negative integer, got %q", name, v))
			}
			*dst = n
		}
	}
	if v := q.Get("sendInitialEvents"); v != "" {
		b := v == "true"
		opts.SendInitialEvents = &b
	}
	return opts, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	opts, err := listOptions(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	list, err := s.Backend.List(r.Context(), info.Namespace, opts)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusOK, list)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	if info.Name != "" {
		writeError(w, r, apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), "POST to a named "+s.Resource.Singular))
		return
	}
	obj, err := decodeObject(w, r, s.Resource)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := matchNamespace(s.Resource, info, object.Meta(obj)); err != nil {
		writeError(w, r, err)
		return
	}
	level, _ := fieldValidation(r) // checked when the body was decoded
	ctx, warnings := warning.NewContext(r.Context())
	out, err := s.Backend.Create(ctx, obj, registry.CreateOptions{
		DryRun:          len(r.URL.Query()["dryRun"]) > 0,
		FieldManager:    fieldManager(r),
		FieldValidation: level,
	})
	// Warnings go with refusals too (an admission webhook's).
	addWarnings(w, warnings)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusCreated, out)
}

// matchNamespace fills an empty namespace from the URL and refuses a
// different one, as Kubernetes does.
func matchNamespace(res *registry.Resource, info requestInfo, meta *metav1.ObjectMeta) error {
	if !res.Namespaced {
		return nil
	}
	switch meta.GetNamespace() {
	case "":
		meta.Namespace = info.Namespace
	case info.Namespace:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, info requestInfo, s Served, sub string) {
	obj, err := decodeObject(w, r, s.Resource)
	if err != nil {
		writeError(w, r, err)
		return
	}
	meta := object.Meta(obj)
	if err := matchNamespace(s.Resource, info, meta); err != nil {
		writeError(w, r, err)
		return
	}
	if meta.GetName() != info.Name {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", meta.GetName(), info.Name)))
		return
	}
	level, _ := fieldValidation(r) // checked when the body was decoded
	opts := registry.UpdateOptions{DryRun: len(r.URL.Query()["dryRun"]) > 0, FieldManager: fieldManager(r),
		FieldValidation: level}
	ctx, warnings := warning.NewContext(r.Context())
	var out proto.Message
	switch pu, isPart := s.Backend.(registry.PartUpdater); {
	case sub == "status":
		out, err = s.Backend.UpdateStatus(ctx, obj, opts)
	case sub != "" && isPart:
		opts.Subresource = sub
		out, err = pu.UpdatePart(ctx, obj, opts)
	default:
		out, err = s.Backend.Update(ctx, obj, opts)
	}
	// Warnings go with refusals too (an admission webhook's).
	addWarnings(w, warnings)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusOK, out)
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request, info requestInfo, s Served, sub string) {
	level, err := fieldValidation(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	data, err := readBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	audit.LogRequestPatch(r.Context(), data)
	q := r.URL.Query()
	if mediaTypeOnly(r.Header.Get("Content-Type")) == registry.PatchApply && q.Get("fieldManager") == "" {
		writeError(w, r, apierrors.NewBadRequest("PATCH with apply content type requires the fieldManager parameter"))
		return
	}
	ctx, warnings := warning.NewContext(r.Context())
	out, err := s.Backend.Patch(ctx, info.Namespace, info.Name,
		registry.Patch{Type: mediaTypeOnly(r.Header.Get("Content-Type")), Data: data},
		registry.UpdateOptions{
			DryRun: len(q["dryRun"]) > 0, FieldManager: fieldManager(r),
			Force: queryBool(r, "force"), Subresource: sub, FieldValidation: level,
		})
	// Warnings go with refusals too (an admission webhook's).
	addWarnings(w, warnings)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusOK, out)
}

// addWarnings sends what the request recorded as Warning headers.
func addWarnings(w http.ResponseWriter, rec *warning.Recorder) {
	for _, msg := range rec.Warnings() {
		w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
	}
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	opts, err := deleteOptions(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx, warnings := warning.NewContext(r.Context())
	out, err := s.Backend.Delete(ctx, info.Namespace, info.Name, opts)
	addWarnings(w, warnings)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.answer(w, r, s.Resource, http.StatusOK, out)
}

// deleteOptions reads DeleteOptions from the body (JSON or protobuf) and
// the query parameters.
func deleteOptions(w http.ResponseWriter, r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		format, ok := contentFormat(r.Header.Get("Content-Type"))
		if !ok {
			return nil, apierrors.NewUnsupportedMediaType(r.Header.Get("Content-Type"))
		}
		if err := decodeAs(format, data, opts, validationIgnore, w); err != nil {
			return nil, err
		}
		audit.LogRequestObject(r.Context(), opts)
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("gracePeriodSeconds must be an integer, got %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		opts.PropagationPolicy = &v
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := v == "true"
		opts.OrphanDependents = &b
	}
	if len(q["dryRun"]) > 0 {
		opts.DryRun = q["dryRun"]
	}
	return opts, nil
}

func (h *Handler) deleteCollection(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	lopts, err := listOptions(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	dopts, err := deleteOptions(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	list, err := s.Backend.List(r.Context(), info.Namespace, lopts)
	if err != nil {
		writeError(w, r, err)
		return
	}
	for _, item := range object.Items(list) {
		meta := object.Meta(item)
		if _, err := s.Backend.Delete(r.Context(), meta.GetNamespace(), meta.GetName(), dopts); err != nil && !apierrors.IsNotFound(err) {
			writeError(w, r, err)
			return
		}
	}
	h.answer(w, r, s.Resource, http.StatusOK, list)
}

func mediaTypeOnly(ct string) string {
	for i := 0; i < len(ct); i++ {
		if ct[i] == ';' {
			return ct[:i]
		}
	}
	return ct
}

// fieldManager is the request's fieldManager parameter or, as in
// Kubernetes, what its User-Agent gives before the first "/"
// (kubectl/v1.32.0 ... is kubectl), at most 128 characters.
func fieldManager(r *http.Request) string {
	if m := r.URL.Query().Get("fieldManager"); m != "" {
		return m
	}
	return registry.ManagerFromUserAgent(r.Header.Get("User-Agent"))
}
