package rest

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// watch streams events as JSON lines: {"type":"ADDED","object":{...}}.
// With Accept as=Table every object is a one-row Table. Watches are always
// served as JSON; a client that prefers protobuf also accepts JSON.
func (h *Handler) watch(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	opts, err := listOptions(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	enc, ok := negotiate(r.Header.Get("Accept"), !s.Resource.NoTable)
	if !ok {
		writeError(w, r, apierrors.NewNotAcceptable(r.Header.Get("Accept")))
		return
	}
	timeout := h.cfg.MaxWatchTimeout
	if opts.TimeoutSeconds > 0 && time.Duration(opts.TimeoutSeconds)*time.Second < timeout {
		timeout = time.Duration(opts.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	watcher, err := s.Backend.Watch(ctx, info.Namespace, opts)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer watcher.Stop()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			line, err := h.watchLine(r, s.Resource, enc, ev, first)
			if err != nil {
				line = errorLine(err)
			}
			if ev.Type != registry.Bookmark && ev.Type != registry.Error {
				first = false
			}
			if _, err := w.Write(line); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// watchLine renders one event as a JSON line.
func (h *Handler) watchLine(r *http.Request, res *registry.Resource, enc encoding, ev registry.Event, first bool) ([]byte, error) {
	obj := ev.Object
	if ev.Type != registry.Error {
		switch enc.as {
		case "Table":
			t, err := h.tableEvent(r, res, ev, first)
			if err != nil {
				return nil, err
			}
			obj = t
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			obj = &metav1.PartialObjectMetadata{Kind: "PartialObjectMetadata", ApiVersion: "meta.k8s.io/v1",
				Metadata: object.Meta(obj)}
		}
	}
	raw, err := kjson.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return eventLine(ev.Type, raw), nil
}

func (h *Handler) tableEvent(r *http.Request, res *registry.Resource, ev registry.Event, first bool) (proto.Message, error) {
	if ev.Type == registry.Bookmark {
		return &metav1.Table{Kind: "Table", ApiVersion: "meta.k8s.io/v1",
			Metadata: &metav1.ListMeta{ResourceVersion: object.Meta(ev.Object).GetResourceVersion()}}, nil
	}
	return h.table(r, res, ev.Object, first)
}

func eventLine(typ string, raw []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"`)
	b.WriteString(typ)
	b.WriteString(`","object":`)
	b.Write(raw)
	b.WriteString("}\n")
	return b.Bytes()
}

func errorLine(err error) []byte {
	raw, mErr := kjson.Marshal(apierrors.ToStatus(err))
	if mErr != nil {
		raw = []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}`)
	}
	return eventLine(registry.Error, raw)
}
