package spec

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	openapiv2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// The OpenAPI v2 (Swagger 2.0) document is the v3 documents of every
// group/version merged into one and rewritten into v2's shapes, so both
// come from the same contracts. kubectl still reads it: its client-side
// validation (kubectl apply or create of a kind the server does not serve)
// and `kubectl explain --output=plaintext-openapiv2`.

const (
	v3Refs = "#/components/schemas/"
	v2Refs = "#/definitions/"
)

// SwaggerDocument builds the Swagger 2.0 document of every served
// group/version.
func SwaggerDocument(resources []Resource) map[string]any {
	paths, definitions := map[string]any{}, map[string]any{}
	eachDocument(forV2(resources), func(_ string, doc map[string]any) {
		for p, item := range doc["paths"].(map[string]any) {
			paths[p] = v2PathItem(item.(map[string]any))
		}
		for name, s := range doc["components"].(map[string]any)["schemas"].(map[string]any) {
			definitions[name] = v2Schema(s)
		}
	})
	return map[string]any{
		"swagger":     "2.0",
		"info":        map[string]any{"title": "Kubernetes", "version": "v1.32.0-skiff"},
		"paths":       paths,
		"definitions": definitions,
		"securityDefinitions": map[string]any{"BearerToken": map[string]any{"type": "apiKey", "in": "header", "name": "authorization",
			"description": "Bearer Token authentication"}},
		"security": []any{map[string]any{"BearerToken": []any{}}},
	}
}

// v2Schema rewrites a v3 schema: references point into definitions, a
// reference wrapped in allOf (how v3 gives a field its own extensions)
// becomes the reference itself, and a oneOf of scalars (Quantity) a
// string, as Kubernetes' v2 document writes them.
func v2Schema(v any) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(s))
	for k, e := range s {
		switch k {
		case "properties", "patternProperties", "definitions":
			// maps of schemas by name: a property may be called
			// "oneOf" or "$ref" without being one
			if named, ok := e.(map[string]any); ok {
				schemas := make(map[string]any, len(named))
				for name, sub := range named {
					schemas[name] = v2Schema(sub)
				}
				out[k] = schemas
				continue
			}
		case "items", "additionalProperties", "additionalItems", "not", "allOf", "anyOf", "oneOf":
			if list, ok := e.([]any); ok {
				subs := make([]any, len(list))
				for i, sub := range list {
					subs[i] = v2Schema(sub)
				}
				out[k] = subs
				continue
			}
			out[k] = v2Schema(e)
			continue
		}
		out[k] = e // values (default, enum, example) and extensions as they are
	}
	if ref, ok := out["$ref"].(string); ok {
		out["$ref"] = v2Refs + strings.TrimPrefix(ref, v3Refs)
	}
	if all, ok := out["allOf"].([]any); ok && len(all) == 1 {
		delete(out, "allOf")
		maps.Copy(out, all[0].(map[string]any))
	}
	if _, ok := out["oneOf"]; ok {
		delete(out, "oneOf")
		out["type"] = "string"
	}
	return out
}

// v2PathItem rewrites a v3 path item: parameters carry their type
// themselves, a request body is a body parameter, a response names its
// schema without media types.
func v2PathItem(item map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range item {
		switch k {
		case "parameters":
			if params, ok := v.([]any); ok && len(params) > 0 {
				out[k] = v2Parameters(params)
			}
		default:
			out[k] = v2Operation(v.(map[string]any))
		}
	}
	return out
}

func v2Parameters(params []any) []any {
	out := make([]any, 0, len(params))
	for _, p := range params {
		p := maps.Clone(p.(map[string]any))
		if s, ok := p["schema"].(map[string]any); ok {
			delete(p, "schema")
			maps.Copy(p, s)
		}
		out = append(out, p)
	}
	return out
}

func v2Operation(op map[string]any) map[string]any {
	out := map[string]any{}
	var params []any
	for k, v := range op {
		switch k {
		case "parameters":
			params = append(params, v2Parameters(v.([]any))...)
		case "requestBody":
			content := v.(map[string]any)["content"].(map[string]any)
			types := slices.Sorted(maps.Keys(content))
			params = append(params, map[string]any{"name": "body", "in": "body", "required": true,
				"schema": v2Schema(content[types[0]].(map[string]any)["schema"])})
			out["consumes"] = types
		case "responses":
			out[k] = v2Responses(v.(map[string]any))
		default:
			out[k] = v
		}
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if _, ok := out["consumes"]; !ok {
		out["consumes"] = []string{"*/*"}
	}
	out["produces"] = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	out["schemes"] = []string{"https"}
	return out
}

func v2Responses(responses map[string]any) map[string]any {
	out := map[string]any{}
	for code, r := range responses {
		r := r.(map[string]any)
		resp := map[string]any{"description": r["description"]}
		if content, ok := r["content"].(map[string]any); ok {
			if js, ok := content["application/json"].(map[string]any); ok {
				resp["schema"] = v2Schema(js["schema"])
			}
		}
		out[code] = resp
	}
	return out
}

// Media types of /openapi/v2: JSON, and the protobuf form of gnostic's
// OpenAPIv2 Document that client-go's discovery asks for (both spellings
// Kubernetes accepts).
const (
	mediaV2Protobuf    = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	mediaV2ProtobufOld = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
)

// swagger is the v2 document in both encodings.
type swagger struct {
	json, protobuf []byte
	etag           string
}

func newSwagger(resources []Resource) (*swagger, error) {
	data, err := json.Marshal(SwaggerDocument(resources))
	if err != nil {
		return nil, fmt.Errorf("encode the OpenAPI v2 document: %w", err)
	}
	doc, err := openapiv2.ParseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI v2 document as gnostic's: %w", err)
	}
	pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode the OpenAPI v2 document as protobuf: %w", err)
	}
	sum := sha512.Sum512(data)
	return &swagger{json: data, protobuf: pb, etag: `"` + strings.ToUpper(hex.EncodeToString(sum[:])) + `"`}, nil
}

// serveV2 answers GET /openapi/v2 in the first encoding the client
// accepts, 406 when it accepts none.
func (h *Handler) serveV2(w http.ResponseWriter, r *http.Request) {
	mediaType, ok := v2MediaType(r.Header.Get("Accept"))
	if !ok {
		http.Error(w, "only application/json and "+mediaV2Protobuf+" are served", http.StatusNotAcceptable)
		return
	}
	doc, err := h.v2()
	if err != nil {
		slog.ErrorContext(r.Context(), "OpenAPI v2 document failed", "err", err)
		http.Error(w, "the OpenAPI v2 document could not be made", http.StatusInternalServerError)
		return
	}
	w.Header().Set("ETag", doc.etag)
	w.Header().Set("Vary", "Accept")
	w.Header().Set("Cache-Control", "no-cache, private")
	if r.Header.Get("If-None-Match") == doc.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	if mediaType == "application/json" {
		_, _ = w.Write(doc.json)
		return
	}
	_, _ = w.Write(doc.protobuf)
}

func v2MediaType(accept string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return "application/json", true
	}
	for _, part := range strings.Split(accept, ",") {
		// Not mime.ParseMediaType: "@" is not allowed in a token, and
		// client-go's type has one.
		mt, _, _ := strings.Cut(part, ";")
		switch mt = strings.ToLower(strings.TrimSpace(mt)); mt {
		case "application/json", "*/*", "application/*":
			return "application/json", true
		case mediaV2Protobuf, mediaV2ProtobufOld:
			// Answered as the spelling without "@", which client-go's
			// Content-Type parsing (mime.ParseMediaType) can read.
			return mediaV2ProtobufOld, true
		}
	}
	return "", false
}
