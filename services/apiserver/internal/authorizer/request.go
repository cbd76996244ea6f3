package authorizer

import "strings"

// ResourceRequest describes a request on a resource as both faces do. As
// in Kubernetes, a request on a namespace object itself is also "in" that
// namespace, so a RoleBinding there can allow reading it.
func ResourceRequest(verb, group, version, resource, subresource, namespace, name string) Attributes {
	if group == "" && resource == "namespaces" && name != "" {
		namespace = name
	}
	return Attributes{Verb: verb, ResourceRequest: true, APIGroup: group, APIVersion: version,
		Resource: resource, Subresource: subresource, Namespace: namespace, Name: name}
}

// SelectedName is the name a list or watch's field selector pins with
// metadata.name=X (or ==), or "": the name a rule's resourceNames is
// matched against.
func SelectedName(fieldSelector string) string {
	for term := range strings.SplitSeq(fieldSelector, ",") {
		key, value, ok := strings.Cut(term, "==")
		if !ok {
			key, value, ok = strings.Cut(term, "=")
		}
		if ok && strings.TrimSpace(key) == "metadata.name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
