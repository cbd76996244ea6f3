package authorizer

import (
	"fmt"
	"strings"
)

// htmlEscaper keeps a message from reading as HTML, as Kubernetes does for
// this one; quotes stay.
var htmlEscaper = strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;")

// ForbiddenMessage renders why a request is refused, as Kubernetes writes it
// after the "<resource> \"<name>\" is forbidden: " that
// apierrors.NewForbidden puts before it:
//
//	User "u" cannot list resource "secrets" in API group "" in the namespace "ns"
//	User "u" cannot get resource "nodes" in API group "" at the cluster scope
//	User "u" cannot get resource "pods/log" in API group "" in the namespace "ns"
//	User "u" cannot get path "/metrics"
//
// followed by ": " and the reason when there is one. The object's name is
// not in this text; Kubernetes puts it in the prefix only.
func ForbiddenMessage(attrs Attributes, reason string) string {
	msg := htmlEscaper.Replace(requestText(attrs))
	if reason == "" {
		return msg
	}
	return msg + ": " + reason
}

func requestText(attrs Attributes) string {
	if !attrs.ResourceRequest {
		return fmt.Sprintf("User %q cannot %s path %q", attrs.User, attrs.Verb, attrs.Path)
	}
	resource := attrs.Resource
	if attrs.Subresource != "" {
		resource += "/" + attrs.Subresource
	}
	if attrs.Namespace != "" {
		return fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", attrs.User, attrs.Verb, resource, attrs.APIGroup, attrs.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", attrs.User, attrs.Verb, resource, attrs.APIGroup)
}
