package spec

import (
	"maps"
	"slices"
	"strings"

	metav1 "skiff.dev/api/meta/v1"
)

// customSchemaName names a custom resource's schemas as Kubernetes does:
// the group's labels reversed, then version and kind
// (stable.example.com, v1, CronTab: com.example.stable.v1.CronTab).
func customSchemaName(group, version, kind string) string {
	labels := strings.Split(group, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "." + version + "." + kind
}

// addCustom puts a custom resource's object and list schemas into s: the
// version's schema with apiVersion, kind and metadata (ObjectMeta) added.
func (s schemas) addCustom(r Resource) (objName, listName string) {
	objName = customSchemaName(r.Group, r.Version, r.Kind)
	listName = objName + "List"
	obj := maps.Clone(r.Schema)
	if r.bare {
		obj = map[string]any{}
	}
	if !r.bare {
		props := map[string]any{}
		if p, ok := obj["properties"].(map[string]any); ok {
			props = maps.Clone(p)
		}
		props["apiVersion"] = map[string]any{"type": "string", "description": apiVersionDescription}
		props["kind"] = map[string]any{"type": "string", "description": kindDescription}
		props["metadata"] = map[string]any{"allOf": []any{ref(s.add((&metav1.ObjectMeta{}).ProtoReflect().Descriptor()))},
			"description": metadataDescription}
		obj["properties"] = props
	}
	obj["type"] = "object"
	obj["x-kubernetes-group-version-kind"] = gvk(r.Group, r.Version, r.Kind)
	s[objName] = obj
	s[listName] = map[string]any{
		"type": "object", "required": []any{"items"},
		"description": r.Kind + "List is a list of " + r.Kind,
		"properties": map[string]any{
			"apiVersion": map[string]any{"type": "string", "description": apiVersionDescription},
			"kind":       map[string]any{"type": "string", "description": kindDescription},
			"metadata":   ref(s.add((&metav1.ListMeta{}).ProtoReflect().Descriptor())),
			"items": map[string]any{"type": "array", "description": "List of " + strings.ToLower(r.Kind) + "s. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md",
				"items": ref(objName)},
		},
		"x-kubernetes-group-version-kind": gvk(r.Group, r.Version, r.Kind+"List"),
	}
	return objName, listName
}

const (
	metadataDescription   = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
	apiVersionDescription = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
	kindDescription       = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)

// Schemas are the component schemas of every group/version the resources
// are in, in one map: what a type converter for server-side apply needs.
func Schemas(resources []Resource) map[string]any {
	out := map[string]any{}
	eachDocument(resources, func(_ string, doc map[string]any) {
		maps.Copy(out, doc["components"].(map[string]any)["schemas"].(map[string]any))
	})
	return out
}

// eachDocument calls f with the document of each group/version the
// resources are in, and its path, in order of first appearance.
func eachDocument(resources []Resource, f func(path string, doc map[string]any)) {
	seen := map[string]bool{}
	for _, r := range resources {
		p := docPath(r.Group, r.Version)
		if !seen[p] {
			seen[p] = true
			f(p, Document(r.Group, r.Version, resources))
		}
	}
}
