package rest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"skiff.dev/pkg/kjson"
	"skiff.dev/pkg/kprotobuf"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/audit"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// Field validation levels (the fieldValidation query parameter).
const (
	validationStrict = "Strict"
	validationWarn   = "Warn"
	validationIgnore = "Ignore"
)

func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return validationWarn, nil
	case validationStrict, validationWarn, validationIgnore:
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of %q, %q or %q, got %q",
		validationIgnore, validationWarn, validationStrict, v))
}

// readBody reads the whole request body; the size limit is enforced by
// the server's middleware.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierrors.NewRequestEntityTooLarge(
				fmt.Sprintf("the request body is larger than the limit of %d bytes", tooLarge.Limit))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the request body cannot be read: %v", err))
	}
	return data, nil
}

// decodeObject reads the request body into a new object of the resource,
// honouring fieldValidation; warnings go to the Warning header.
func decodeObject(w http.ResponseWriter, r *http.Request, res *registry.Resource) (proto.Message, error) {
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
	obj := res.New()
	if err := decodeAs(format, data, obj, level, w); err != nil {
		return nil, err
	}
	if err := checkTypeMeta(res, obj); err != nil {
		return nil, err
	}
	audit.LogRequestObject(r.Context(), obj)
	return obj, nil
}

func decodeAs(format string, data []byte, obj proto.Message, level string, w http.ResponseWriter) error {
	switch format {
	case mediaProtobuf:
		apiVersion, kind, err := kprotobuf.Decode(data, obj)
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the protobuf body cannot be read: %v", err))
		}
		object.SetTypeMeta(obj, apiVersion, kind)
		return nil
	case mediaYAML:
		js, err := kjson.YAMLToJSON(data)
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the YAML body cannot be read: %v", err))
		}
		data = js
	}
	return decodeJSON(data, obj, level, w)
}

// decodeJSON decodes strictly first; under Warn or Ignore a strict failure
// is retried leniently, the problems becoming warnings.
func decodeJSON(data []byte, obj proto.Message, level string, w http.ResponseWriter) error {
	err := kjson.Unmarshal(data, obj, kjson.Strict())
	var strict *kjson.StrictError
	if !errors.As(err, &strict) {
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("the JSON body cannot be read: %v", err))
		}
		return nil
	}
	if level == validationStrict {
		return apierrors.NewStrictDecoding(strict.Problems)
	}
	proto.Reset(obj)
	if err := kjson.Unmarshal(data, obj); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the JSON body cannot be read: %v", err))
	}
	if level == validationWarn {
		for _, p := range strict.Problems {
			w.Header().Add("Warning", "299 - "+strconv.Quote(p))
		}
	}
	return nil
}

// checkTypeMeta refuses a body of another kind than the URL's.
func checkTypeMeta(res *registry.Resource, obj proto.Message) error {
	apiVersion, kind := object.TypeMeta(obj)
	if apiVersion != "" && apiVersion != res.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", apiVersion, res.GroupVersion()))
	}
	if kind != "" && kind != res.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", kind, res.Kind))
	}
	object.SetTypeMeta(obj, res.GroupVersion(), res.Kind)
	return nil
}

// queryBool reads a boolean query parameter.
func queryBool(r *http.Request, name string) bool {
	v := strings.ToLower(r.URL.Query().Get(name))
	return v == "true" || v == "1"
}
