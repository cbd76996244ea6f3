package rest

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/pkg/kprotobuf"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/object"
)

// encode renders obj in the negotiated media type.
func encode(mediaType string, obj proto.Message) ([]byte, error) {
	switch mediaType {
	case mediaProtobuf:
		apiVersion, kind := object.TypeMeta(obj)
		return kprotobuf.Encode(obj, apiVersion, kind)
	case mediaYAML:
		data, err := kjson.Marshal(obj)
		if err != nil {
			return nil, err
		}
		return yaml.JSONToYAML(data)
	default:
		return kjson.Marshal(obj)
	}
}

// writeObject answers with obj and the given status code.
func writeObject(w http.ResponseWriter, r *http.Request, mediaType string, code int, obj proto.Message) {
	data, err := encode(mediaType, obj)
	if err != nil {
		writeError(w, r, fmt.Errorf("encode answer: %w", err))
		return
	}
	var asJSON []byte
	if mediaType == mediaJSON {
		asJSON = data
	}
	audit.LogResponseObject(r.Context(), obj, asJSON)
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(code)
	if _, err := w.Write(data); err != nil {
		slog.DebugContext(r.Context(), "write answer failed", "err", err)
	}
}

// writeError answers with the Status that err stands for, in protobuf when
// the client asked for it and JSON otherwise.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := apierrors.ToStatus(err)
	if st.GetCode() >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeStatus(w, r, st)
}

func writeStatus(w http.ResponseWriter, r *http.Request, st *metav1.Status) {
	audit.LogResponseStatus(r.Context(), st)
	mediaType := mediaJSON
	if enc, ok := negotiate(r.Header.Get("Accept"), false); ok && enc.mediaType == mediaProtobuf {
		mediaType = mediaProtobuf
	}
	data, err := encode(mediaType, st)
	if err != nil {
		http.Error(w, st.GetMessage(), int(st.GetCode()))
		return
	}
	w.Header().Set("Content-Type", mediaType)
	if after := st.GetDetails().GetRetryAfterSeconds(); after > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(after)))
	}
	w.WriteHeader(int(st.GetCode()))
	_, _ = w.Write(data)
}

// WriteError answers with the Status that err stands for; the handlers
// around the REST face (authentication, body limits) use it so every error
// is a Status.
func WriteError(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, err) }
