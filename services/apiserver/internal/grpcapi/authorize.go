package grpcapi

import (
	"context"

	"google.golang.org/protobuf/proto"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// methodVerbs are the Kubernetes verb and subresource of each method of a
// resource's service, as the same request on the REST face has them.
var methodVerbs = map[string]struct{ verb, subresource string }{
	"Create": {"create", ""}, "Get": {"get", ""}, "List": {"list", ""}, "Watch": {"watch", ""},
	"Update": {"update", ""}, "UpdateStatus": {"update", "status"}, "Patch": {"patch", ""},
	"Delete": {"delete", ""}, "GetScale": {"get", "scale"}, "UpdateScale": {"update", "scale"},
	"Bind": {"create", "binding"}, "Finalize": {"update", "finalize"}, "CreateToken": {"create", "token"},
	"UpdateApproval": {"update", "approval"}, "Evict": {"create", "eviction"},
}

// target is the namespace, name and subresource a request addresses. A
// create names no object (as on REST, where the name is in the body), so a
// rule's resourceNames never allow it.
func target(method string, req proto.Message) (namespace, name, subresource string) {
	switch r := req.(type) {
	case *metav1.GetRequest:
		return r.GetNamespace(), r.GetName(), ""
	case *metav1.ListRequest:
		return r.GetNamespace(), authorizer.SelectedName(r.GetFieldSelector()), ""
	case *metav1.PatchRequest:
		return r.GetNamespace(), r.GetName(), r.GetSubresource()
	case *metav1.DeleteRequest:
		return r.GetNamespace(), r.GetName(), ""
	case *corev1.BindPodRequest:
		m := r.GetBinding().GetMetadata()
		return m.GetNamespace(), m.GetName(), ""
	case *corev1.EvictPodRequest:
		m := r.GetEviction().GetMetadata()
		return m.GetNamespace(), m.GetName(), ""
	case *corev1.CreateServiceAccountTokenRequest:
		return r.GetNamespace(), r.GetName(), ""
	case interface{ GetScale() *autoscalingv1.Scale }:
		m := r.GetScale().GetMetadata()
		return m.GetNamespace(), m.GetName(), ""
	case writeRequest:
		m := object.Meta(objectOf(req))
		if method == "Create" {
			return m.GetNamespace(), "", ""
		}
		return m.GetNamespace(), m.GetName(), ""
	}
	return "", "", ""
}

// authorize checks a call of a resource's service before the backend sees
// it; a refusal is Kubernetes' 403 Status error, which the caller turns
// into PermissionDenied.
func authorize(ctx context.Context, az authorizer.Authorizer, res *registry.Resource, method string, req proto.Message) error {
	mv := methodVerbs[method]
	ns, name, sub := target(method, req)
	if sub == "" {
		sub = mv.subresource
	}
	return authorizer.Check(ctx, az, authorizer.ResourceRequest(mv.verb, res.Group, res.Version, res.Plural, sub, ns, name))
}

// authorizeKindless checks a call of the kind-independent services, which
// name their resource in the request.
func authorizeKindless(ctx context.Context, az authorizer.Authorizer, gvr *metav1.GroupVersionResource, verb, subresource, namespace, name string) error {
	attrs := authorizer.ResourceRequest(verb, gvr.GetGroup(), gvr.GetVersion(), gvr.GetResource(), subresource, namespace, name)
	if err := authorizer.Check(ctx, az, attrs); err != nil {
		return toStatus(err)
	}
	return nil
}
