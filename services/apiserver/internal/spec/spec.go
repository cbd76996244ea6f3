// Package spec publishes the OpenAPI v3 documents of the served API,
// generated at start from the protobuf contracts: one document per
// group/version with Kubernetes' schema names, vendor extensions
// (group-version-kind, patch strategies, list types, int-or-string) and
// operations, so kubectl explain works and kubectl sees that the server
// validates fields itself.
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	schemav1 "skiff.dev/api/schema/v1"
)

// Resource is one served resource.
type Resource struct {
	Group, Version, Kind, Plural string
	Namespaced                   bool
	// Subresources served: "status", "scale", "binding", "finalize", "token".
	Subresources []string
	// Verbs are the verbs served when not all are ("create" for a
	// review, which has no List); nil means every verb.
	Verbs        []string
	Object, List protoreflect.MessageDescriptor
	// Schema is the object schema of a resource without messages (a
	// custom resource's version), in JSON shape; Object and List are nil
	// then.
	Schema map[string]any
	// bare publishes Schema as an object with nothing declared (OpenAPI v2
	// of a custom resource whose root keeps unknown fields).
	bare bool
}

// docPath is the index key of a group/version: api/v1, apis/apps/v1.
func docPath(group, version string) string {
	if group == "" {
		return "api/" + version
	}
	return "apis/" + group + "/" + version
}

// Schema names: the Go packages Kubernetes generates them from. A
// contract package skiff.<group>.<version> is Kubernetes' k8s.io/api
// package io.k8s.api.<group>.<version> unless it is one of these.
// (Skiff's own packages, such as skiff.election.v1, are never reachable
// from a served kind, so they never appear in a document.)
var packages = map[protoreflect.FullName]string{
	"skiff.meta.v1":          "io.k8s.apimachinery.pkg.apis.meta.v1",
	"skiff.apiextensions.v1": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
}

// kubernetesPackage is the Kubernetes schema package of a contract
// package; false for a package that is not skiff.<group>.<version>.
func kubernetesPackage(pkg protoreflect.FullName) (string, bool) {
	if name, ok := packages[pkg]; ok {
		return name, true
	}
	parts := strings.Split(string(pkg), ".")
	if len(parts) != 3 || parts[0] != "skiff" || !strings.HasPrefix(parts[2], "v") {
		return "", false
	}
	return "io.k8s.api." + parts[1] + "." + parts[2], true
}

// Messages that are scalars (or opaque) in JSON, with their Kubernetes
// schema names and shapes.
var special = map[protoreflect.FullName]struct {
	name   string
	schema map[string]any
}{
	"google.protobuf.Timestamp": {"io.k8s.apimachinery.pkg.apis.meta.v1.Time",
		map[string]any{"type": "string", "format": "date-time", "description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON."}},
	"skiff.meta.v1.Quantity": {"io.k8s.apimachinery.pkg.api.resource.Quantity",
		map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}},
			"description": "Quantity is a fixed-point representation of a number, such as 100m or 1Gi."}},
	"skiff.meta.v1.IntOrString": {"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
		map[string]any{"type": "string", "format": "int-or-string", "description": "IntOrString is a type that can hold an int32 or a string."}},
	"skiff.meta.v1.RawExtension": {"io.k8s.apimachinery.pkg.runtime.RawExtension",
		map[string]any{"type": "object", "description": "RawExtension holds an embedded object."}},
	"skiff.meta.v1.FieldsV1": {"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
		map[string]any{"type": "object", "description": "FieldsV1 stores a set of fields in a trie-like data structure."}},
	// The apiextensions values of more than one JSON type: Kubernetes
	// publishes them without a type, so that any value validates.
	"skiff.apiextensions.v1.JSON": {apiextensions + "JSON",
		map[string]any{"description": "JSON is any JSON value: an object, an array, a string, a number, a boolean or null."}},
	"skiff.apiextensions.v1.JSONSchemaPropsOrArray": {apiextensions + "JSONSchemaPropsOrArray",
		map[string]any{"description": "JSONSchemaPropsOrArray is a schema, or an array of schemas."}},
	"skiff.apiextensions.v1.JSONSchemaPropsOrBool": {apiextensions + "JSONSchemaPropsOrBool",
		map[string]any{"description": "JSONSchemaPropsOrBool is a schema, or a boolean that allows (true) or forbids (false) any value."}},
	"skiff.apiextensions.v1.JSONSchemaPropsOrStringArray": {apiextensions + "JSONSchemaPropsOrStringArray",
		map[string]any{"description": "JSONSchemaPropsOrStringArray is a schema, or an array of property names."}},
}

const apiextensions = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."

func schemaName(md protoreflect.MessageDescriptor) string {
	if s, ok := special[md.FullName()]; ok {
		return s.name
	}
	if pkg, ok := kubernetesPackage(md.ParentFile().Package()); ok {
		return pkg + "." + string(md.Name())
	}
	return strings.ReplaceAll(string(md.FullName()), "skiff.", "dev.skiff.")
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// bareList is the repeated field of a message written as that list alone
// (the bare_list message option), nil for other messages.
func bareList(md protoreflect.MessageDescriptor) protoreflect.FieldDescriptor {
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, schemav1.E_K8SMessage) {
		return nil
	}
	if !proto.GetExtension(opts, schemav1.E_K8SMessage).(*schemav1.Message).GetBareList() || md.Fields().Len() != 1 || !md.Fields().Get(0).IsList() {
		return nil
	}
	return md.Fields().Get(0)
}

// schemas collects the component schemas a document needs.
type schemas map[string]any

func fieldOptions(fd protoreflect.FieldDescriptor) *schemav1.Field {
	opts := fd.Options()
	if opts == nil || !proto.HasExtension(opts, schemav1.E_K8S) {
		return nil
	}
	return proto.GetExtension(opts, schemav1.E_K8S).(*schemav1.Field)
}

// add puts md's schema, and those it refers to, into s; it returns md's
// schema name.
func (s schemas) add(md protoreflect.MessageDescriptor) string {
	name := schemaName(md)
	if _, done := s[name]; done {
		return name
	}
	if sp, ok := special[md.FullName()]; ok {
		s[name] = sp.schema
		return name
	}
	obj := map[string]any{"type": "object"}
	s[name] = obj // before the fields: recursive types end here
	props := map[string]any{}
	var required []string
	s.addFields(md, props, &required)
	if len(props) > 0 {
		obj["properties"] = props
	}
	if len(required) > 0 {
		obj["required"] = required
	}
	return name
}

func (s schemas) addFields(md protoreflect.MessageDescriptor, props map[string]any, required *[]string) {
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		opts := fieldOptions(fd)
		if opts.GetInline() && fd.Message() != nil {
			s.addFields(fd.Message(), props, required)
			continue
		}
		fs := s.field(fd)
		if opts.GetPatchMergeKey() != "" {
			fs["x-kubernetes-patch-merge-key"] = opts.GetPatchMergeKey()
		}
		if opts.GetPatchStrategy() != "" {
			fs["x-kubernetes-patch-strategy"] = opts.GetPatchStrategy()
		}
		if opts.GetListType() != "" {
			fs["x-kubernetes-list-type"] = opts.GetListType()
		}
		if len(opts.GetListMapKeys()) > 0 {
			fs["x-kubernetes-list-map-keys"] = opts.GetListMapKeys()
		}
		if opts.GetRequired() {
			*required = append(*required, fd.JSONName())
		}
		props[fd.JSONName()] = fs
	}
}

// field is the schema of one field.
func (s schemas) field(fd protoreflect.FieldDescriptor) map[string]any {
	if fd.IsMap() {
		return map[string]any{"type": "object", "additionalProperties": s.value(fd.MapValue())}
	}
	v := s.value(fd)
	if fd.IsList() {
		return map[string]any{"type": "array", "items": v}
	}
	if _, isRef := v["$ref"]; isRef {
		// Kubernetes wraps references so the field can carry its own
		// extensions and description.
		return map[string]any{"allOf": []any{v}}
	}
	return v
}

// value is the schema of one value of fd (an element of a list or map).
func (s schemas) value(fd protoreflect.FieldDescriptor) map[string]any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fieldOptions(fd).GetMicroTime() {
			s["io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"] = map[string]any{"type": "string", "format": "date-time",
				"description": "MicroTime is version of Time with microsecond level precision."}
			return ref("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime")
		}
		if list := bareList(fd.Message()); list != nil {
			// a named list (ExtraValue): Kubernetes publishes it in
			// place, as the list, under no schema name of its own
			return map[string]any{"type": "array", "items": s.value(list)}
		}
		return ref(s.add(fd.Message()))
	case protoreflect.BoolKind:
		return map[string]any{"type": "boolean"}
	case protoreflect.StringKind, protoreflect.EnumKind:
		return map[string]any{"type": "string"}
	case protoreflect.BytesKind:
		return map[string]any{"type": "string", "format": "byte"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return map[string]any{"type": "integer", "format": "int32"}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return map[string]any{"type": "number", "format": "double"}
	default:
		return map[string]any{"type": "integer", "format": "int64"}
	}
}

func gvk(group, version, kind string) []any {
	return []any{map[string]any{"group": group, "version": version, "kind": kind}}
}

func param(name, in, typ, desc string) map[string]any {
	p := map[string]any{"name": name, "in": in, "description": desc, "schema": map[string]any{"type": typ, "uniqueItems": true}}
	if in == "path" {
		p["required"] = true
	}
	return p
}

var (
	writeParams = []any{
		param("dryRun", "query", "string", "When present, indicates that modifications should not be persisted."),
		param("fieldManager", "query", "string", "A name associated with the actor or entity that is making these changes."),
		param("fieldValidation", "query", "string", "How the server handles unknown or duplicate fields: Ignore, Warn (default) or Strict."),
	}
	listParams = []any{
		param("labelSelector", "query", "string", "A selector to restrict the list of returned objects by their labels."),
		param("fieldSelector", "query", "string", "A selector to restrict the list of returned objects by their fields."),
		param("limit", "query", "integer", "Maximum number of responses to return for a list call."),
		param("continue", "query", "string", "The continue option from a previous list with limit."),
		param("resourceVersion", "query", "string", "Which resource versions the request may be served from."),
		param("resourceVersionMatch", "query", "string", "How resourceVersion is applied to list calls."),
		param("timeoutSeconds", "query", "integer", "Timeout for the list/watch call."),
		param("watch", "query", "boolean", "Watch for changes to the described resources."),
		param("allowWatchBookmarks", "query", "boolean", "Requests watch events with type BOOKMARK."),
	}
	patchTypes = []string{"application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}
)

func body(schemaRef string, types ...string) map[string]any {
	if len(types) == 0 {
		types = []string{"*/*"}
	}
	content := map[string]any{}
	for _, t := range types {
		content[t] = map[string]any{"schema": ref(schemaRef)}
	}
	return map[string]any{"content": content, "required": true}
}

func responses(schemaRef string, codes ...string) map[string]any {
	out := map[string]any{"401": map[string]any{"description": "Unauthorized"}}
	for _, c := range codes {
		out[c] = map[string]any{"description": "OK", "content": map[string]any{
			"application/json":                    map[string]any{"schema": ref(schemaRef)},
			"application/yaml":                    map[string]any{"schema": ref(schemaRef)},
			"application/vnd.kubernetes.protobuf": map[string]any{"schema": ref(schemaRef)},
		}}
	}
	return out
}

func op(id, action string, kind []any, params []any, extra map[string]any) map[string]any {
	o := map[string]any{"operationId": id, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": kind[0]}
	if len(params) > 0 {
		o["parameters"] = params
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// Document builds the OpenAPI document of one group/version.
func Document(group, version string, resources []Resource) map[string]any {
	s := schemas{}
	paths := map[string]any{}
	status := s.add((&statusMessage{}).descriptor())
	for _, r := range resources {
		if r.Group != group || r.Version != version {
			continue
		}
		var objName, listName string
		if r.Schema != nil {
			objName, listName = s.addCustom(r)
		} else {
			objName = s.add(r.Object)
			s[objName].(map[string]any)["x-kubernetes-group-version-kind"] = gvk(r.Group, r.Version, r.Kind)
		}
		kind := gvk(r.Group, r.Version, r.Kind)
		id := strings.ReplaceAll(strings.Title(strings.ReplaceAll(r.Group, ".", " ")), " ", "") + strings.Title(r.Version) + r.Kind //nolint:staticcheck // ASCII names

		prefix := "/" + docPath(r.Group, r.Version)
		collection := prefix + "/" + r.Plural
		if r.Verbs != nil { // a review: create only
			item := map[string]any{
				"post": op("create"+id, "post", kind, writeParams, map[string]any{"requestBody": body(objName), "responses": responses(objName, "200", "201", "202")}),
			}
			if r.Namespaced { // a LocalSubjectAccessReview
				collection = prefix + "/namespaces/{namespace}/" + r.Plural
				item["parameters"] = []any{param("namespace", "path", "string", "object name and auth scope, such as for teams and projects")}
			}
			paths[collection] = item
			continue
		}
		if r.Schema == nil {
			listName = s.add(r.List)
			s[listName].(map[string]any)["x-kubernetes-group-version-kind"] = gvk(r.Group, r.Version, r.Kind+"List")
		}
		var pathParams []any
		if r.Namespaced {
			collection = prefix + "/namespaces/{namespace}/" + r.Plural
			pathParams = []any{param("namespace", "path", "string", "object name and auth scope, such as for teams and projects")}
			paths[prefix+"/"+r.Plural] = map[string]any{
				"get": op("list"+id+"ForAllNamespaces", "list", kind, listParams, map[string]any{"responses": responses(listName, "200")}),
			}
		}
		paths[collection] = map[string]any{
			"parameters": pathParams,
			"get":        op("list"+id, "list", kind, listParams, map[string]any{"responses": responses(listName, "200")}),
			"post":       op("create"+id, "post", kind, writeParams, map[string]any{"requestBody": body(objName), "responses": responses(objName, "200", "201", "202")}),
			"delete":     op("deletecollection"+id, "deletecollection", kind, listParams, map[string]any{"responses": responses(status, "200")}),
		}
		itemParams := append([]any{param("name", "path", "string", "name of the "+r.Kind)}, pathParams...)
		item := collection + "/{name}"
		patchParams := append(append([]any{}, writeParams...), param("force", "query", "boolean", "Force is going to \"force\" Apply requests."))
		paths[item] = map[string]any{
			"parameters": itemParams,
			"get":        op("read"+id, "get", kind, nil, map[string]any{"responses": responses(objName, "200")}),
			"put":        op("replace"+id, "put", kind, writeParams, map[string]any{"requestBody": body(objName), "responses": responses(objName, "200", "201")}),
			"patch":      op("patch"+id, "patch", kind, patchParams, map[string]any{"requestBody": body("io.k8s.apimachinery.pkg.apis.meta.v1.Patch", patchTypes...), "responses": responses(objName, "200", "201")}),
			"delete":     op("delete"+id, "delete", kind, nil, map[string]any{"responses": responses(status, "200", "202")}),
		}
		for _, sub := range r.Subresources {
			subKind, subName := kind, objName
			switch sub {
			case "scale":
				subKind = gvk("autoscaling", "v1", "Scale")
				subName = s.add(scaleDescriptor())
			case "binding":
				subKind = gvk("", "v1", "Binding")
				subName = s.add(bindingDescriptor())
				paths[item+"/binding"] = map[string]any{"parameters": itemParams,
					"post": op("create"+id+"Binding", "post", subKind, writeParams, map[string]any{"requestBody": body(subName), "responses": responses(subName, "200", "201", "202")})}
				continue
			case "finalize":
				paths[item+"/finalize"] = map[string]any{"parameters": itemParams,
					"put": op("replace"+id+"Finalize", "put", subKind, writeParams, map[string]any{"requestBody": body(subName), "responses": responses(subName, "200", "201")})}
				continue
			case "token":
				subKind = gvk("authentication.k8s.io", "v1", "TokenRequest")
				subName = s.add(tokenRequestDescriptor())
				paths[item+"/token"] = map[string]any{"parameters": itemParams,
					"post": op("create"+id+"Token", "post", subKind, writeParams, map[string]any{"requestBody": body(subName), "responses": responses(subName, "200", "201", "202")})}
				continue
			}
			title := strings.ToUpper(sub[:1]) + sub[1:]
			paths[item+"/"+sub] = map[string]any{
				"parameters": itemParams,
				"get":        op("read"+id+title, "get", subKind, nil, map[string]any{"responses": responses(subName, "200")}),
				"put":        op("replace"+id+title, "put", subKind, writeParams, map[string]any{"requestBody": body(subName), "responses": responses(subName, "200", "201")}),
				"patch":      op("patch"+id+title, "patch", subKind, patchParams, map[string]any{"requestBody": body("io.k8s.apimachinery.pkg.apis.meta.v1.Patch", patchTypes...), "responses": responses(subName, "200", "201")}),
			}
		}
	}
	s["io.k8s.apimachinery.pkg.apis.meta.v1.Patch"] = map[string]any{"type": "object",
		"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}
	return map[string]any{
		"openapi": "3.0.0",
		"info":    map[string]any{"title": "Kubernetes", "version": "v1.32.0-skiff"},
		"paths":   paths,
		"components": map[string]any{
			"schemas": map[string]any(s),
			"securitySchemes": map[string]any{"BearerToken": map[string]any{"type": "apiKey", "in": "header", "name": "authorization",
				"description": "Bearer Token authentication"}},
		},
		"security": []any{map[string]any{"BearerToken": []any{}}},
	}
}

// Handler serves /openapi/v3 (the index) and one document per
// group/version, and /openapi/v2.
type Handler struct {
	index []byte
	docs  map[string][]byte // by docPath
	hash  map[string]string
	// v2 is made at its first request: kubectl asks for it only when it
	// validates a kind the server does not serve.
	v2 func() (*swagger, error)
}

// NewHandler generates every v3 document once.
func NewHandler(resources []Resource) *Handler {
	h := &Handler{docs: map[string][]byte{}, hash: map[string]string{},
		v2: sync.OnceValues(func() (*swagger, error) { return newSwagger(resources) })}
	index := map[string]any{}
	eachDocument(resources, func(p string, doc map[string]any) {
		data, err := json.Marshal(doc)
		if err != nil {
			panic(err) // maps of strings, slices and bools only
		}
		sum := sha256.Sum256(data)
		h.hash[p] = strings.ToUpper(hex.EncodeToString(sum[:]))
		h.docs[p] = data
		index[p] = map[string]any{"serverRelativeURL": "/openapi/v3/" + p + "?hash=" + h.hash[p]}
	})
	h.index, _ = json.Marshal(map[string]any{"paths": index})
	return h
}

// ServeHTTP answers GET /openapi/v3, /openapi/v3/<api/v1|apis/G/V> and
// /openapi/v2.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "/openapi/v2" {
		h.serveV2(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if path == "/openapi/v3" {
		w.Header().Set("Cache-Control", "no-cache, private")
		_, _ = w.Write(h.index)
		return
	}
	p := strings.TrimPrefix(path, "/openapi/v3/")
	doc, ok := h.docs[p]
	if !ok || !strings.HasPrefix(path, "/openapi/v3/") {
		http.NotFound(w, r)
		return
	}
	etag := `"` + h.hash[p] + `"`
	w.Header().Set("ETag", etag)
	if r.URL.Query().Get("hash") == h.hash[p] {
		w.Header().Set("Cache-Control", "public, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache, private")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(doc)
}
