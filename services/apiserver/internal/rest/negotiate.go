package rest

import (
	"mime"
	"net/http"
	"strings"

	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Media types the face speaks.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// encoding is how an answer is written.
type encoding struct {
	mediaType string // mediaJSON, mediaYAML or mediaProtobuf
	// as is "" for the object itself, "Table", "PartialObjectMetadata" or
	// "PartialObjectMetadataList".
	as string
}

// negotiate picks the first acceptable entry of an Accept header, the way
// Kubernetes does: entries with as=Table or as=PartialObjectMetadata
// (group meta.k8s.io, version v1) ask for a transformed answer; as=Table
// entries are passed over when the answer cannot be a Table.
func negotiate(accept string, table bool) (encoding, bool) {
	if strings.TrimSpace(accept) == "" {
		return encoding{mediaType: mediaJSON}, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if enc, ok := acceptable(mt, params); ok && (table || enc.as != "Table") {
			return enc, true
		}
	}
	return encoding{}, false
}

func acceptable(mt string, params map[string]string) (encoding, bool) {
	var enc encoding
	switch mt {
	case mediaJSON, "*/*", "application/*":
		enc.mediaType = mediaJSON
	case mediaYAML:
		enc.mediaType = mediaYAML
	case mediaProtobuf:
		enc.mediaType = mediaProtobuf
	default:
		return enc, false
	}
	as := params["as"]
	if as == "" {
		return enc, true
	}
	if params["g"] != "meta.k8s.io" || params["v"] != "v1" {
		return enc, false
	}
	switch as {
	case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
		if enc.mediaType == mediaProtobuf && as == "Table" {
			// Tables are only served as JSON, as in Kubernetes.
			return enc, false
		}
		enc.as = as
		return enc, true
	}
	return enc, false
}

// printable tells whether the answer to a request for the subresource
// sub of res can be a Table. Kubernetes gives reviews and the binding, eviction, log
// and token subresources no table convertor, so a client that accepts only
// a Table is refused before anything is done.
func printable(res *registry.Resource, sub string) bool {
	switch sub {
	case "binding", "eviction", "log", "token":
		return false
	}
	return !res.NoTable
}

// acceptsAnswer tells, before anything is done, whether the client accepts
// an answer the request can have, as Kubernetes negotiates first. Upgraded
// streams are not negotiated; a log streams text, so only an Accept that
// asks for nothing but a Table is refused there.
func acceptsAnswer(accept string, res *registry.Resource, sub string) bool {
	switch sub {
	case "exec", "attach", "portforward":
		return true
	case "log":
		if enc, ok := negotiate(accept, true); ok && enc.as == "Table" {
			_, ok = negotiate(accept, false)
			return ok
		}
		return true
	}
	_, ok := negotiate(accept, printable(res, sub))
	return ok
}

// contentFormat reads a request's Content-Type: json, yaml or protobuf.
func contentFormat(contentType string) (string, bool) {
	if contentType == "" {
		return mediaJSON, true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	switch mt {
	case mediaJSON, mediaYAML, mediaProtobuf:
		return mt, true
	case "application/x-yaml", "text/yaml":
		return mediaYAML, true
	}
	return "", false
}

// withoutProtobuf drops plain protobuf from a request's Accept header, for
// a kind that has no protobuf form (metadata-only answers keep it: their
// messages are built in); a protobuf body is refused with 415, and a
// request that accepts nothing else with 406.
func withoutProtobuf(r *http.Request) (*http.Request, error) {
	if ct, ok := contentFormat(r.Header.Get("Content-Type")); ok && ct == mediaProtobuf && r.ContentLength != 0 {
		return nil, apierrors.NewUnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	accept := r.Header.Get("Accept")
	if !strings.Contains(accept, mediaProtobuf) {
		return r, nil
	}
	var kept []string
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == mediaProtobuf && !strings.HasPrefix(params["as"], "PartialObjectMetadata") {
			continue
		}
		kept = append(kept, part)
	}
	if len(kept) == 0 {
		return nil, apierrors.NewNotAcceptable(accept)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Accept", strings.Join(kept, ","))
	return r, nil
}
