package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

type served struct {
	res     *registry.Resource
	backend registry.Backend
}

// Catalog gives the resources served at the moment of a call.
type Catalog interface {
	Snapshot() *catalog.Snapshot
}

// kindless serves the DiscoveryService and the MetadataService (and,
// through dynamic, the DynamicService) over every resource.
type kindless struct {
	metav1.UnimplementedDiscoveryServiceServer
	metav1.UnimplementedMetadataServiceServer
	catalog Catalog
	az      authorizer.Authorizer
}

// RegisterKindless serves the resources' discovery, and their objects as
// metadata and as JSON, whatever their kind.
// Calls are authorized by az as the same requests on the REST face are.
func RegisterKindless(s grpc.ServiceRegistrar, c Catalog, az authorizer.Authorizer) {
	k := &kindless{catalog: c, az: az}
	metav1.RegisterDiscoveryServiceServer(s, k)
	metav1.RegisterMetadataServiceServer(s, k)
	metav1.RegisterDynamicServiceServer(s, &dynamic{k: k})
}

// Resources lists every served resource.
func (k *kindless) Resources(context.Context, *metav1.ResourcesRequest) (*metav1.ResourcesResponse, error) {
	out := &metav1.ResourcesResponse{}
	for _, r := range k.catalog.Snapshot().Resources() {
		out.Resources = append(out.Resources, &metav1.ServedResource{
			Resource: &metav1.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Plural},
			Kind:     r.Kind, Namespaced: r.Namespaced, Verbs: r.ServedVerbs(), Subresources: r.Subresources,
		})
	}
	return out, nil
}

// find is the backend of a resource, once the caller is allowed the verb;
// NotFound when it is not served.
func (k *kindless) find(ctx context.Context, gvr *metav1.GroupVersionResource, verb, subresource, namespace, name string) (registry.Backend, error) {
	if err := authorizeKindless(ctx, k.az, gvr, verb, subresource, namespace, name); err != nil {
		return nil, err
	}
	sv, err := k.findServed(gvr)
	return sv.backend, err
}

// partial is an object's metadata alone.
func partial(obj proto.Message) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{Kind: "PartialObjectMetadata", ApiVersion: "meta.k8s.io/v1", Metadata: object.Meta(obj)}
}

func partialResult(obj proto.Message, err error) (*metav1.PartialObjectMetadata, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return partial(obj), nil
}

// Get reads one object's metadata.
func (k *kindless) Get(ctx context.Context, req *metav1.MetadataGetRequest) (*metav1.PartialObjectMetadata, error) {
	r := req.GetRequest()
	b, err := k.find(ctx, req.GetResource(), "get", "", r.GetNamespace(), r.GetName())
	if err != nil {
		return nil, err
	}
	return partialResult(b.Get(ctx, r.GetNamespace(), r.GetName(), registry.GetOptions{ResourceVersion: r.GetResourceVersion()}))
}

// List lists the objects' metadata.
func (k *kindless) List(ctx context.Context, req *metav1.MetadataListRequest) (*metav1.PartialObjectMetadataList, error) {
	r := req.GetRequest()
	b, err := k.find(ctx, req.GetResource(), "list", "", r.GetNamespace(), authorizer.SelectedName(r.GetFieldSelector()))
	if err != nil {
		return nil, err
	}
	list, err := b.List(ctx, req.GetRequest().GetNamespace(), listOptions(req.GetRequest()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &metav1.PartialObjectMetadataList{Kind: "PartialObjectMetadataList", ApiVersion: "meta.k8s.io/v1", Metadata: object.ListMeta(list)}
	for _, item := range object.Items(list) {
		out.Items = append(out.Items, partial(item))
	}
	return out, nil
}

// Watch streams the objects' changes as metadata.
func (k *kindless) Watch(req *metav1.MetadataListRequest, stream grpc.ServerStreamingServer[metav1.MetadataWatchEvent]) error {
	r := req.GetRequest()
	b, err := k.find(stream.Context(), req.GetResource(), "watch", "", r.GetNamespace(), authorizer.SelectedName(r.GetFieldSelector()))
	if err != nil {
		return err
	}
	return pump(stream.Context(), b, req.GetRequest(), func(ev registry.Event) error {
		out := &metav1.MetadataWatchEvent{Type: ev.Type}
		if st, isError := errorStatus(ev); isError {
			out.Status = st
		} else if ev.Object != nil {
			out.Object = partial(ev.Object)
		}
		return stream.Send(out)
	})
}

// Patch patches an object and answers its metadata.
func (k *kindless) Patch(ctx context.Context, req *metav1.MetadataPatchRequest) (*metav1.PartialObjectMetadata, error) {
	r := req.GetRequest()
	b, err := k.find(ctx, req.GetResource(), "patch", r.GetSubresource(), r.GetNamespace(), r.GetName())
	if err != nil {
		return nil, err
	}
	return partialResult(b.Patch(ctx, r.GetNamespace(), r.GetName(), registry.Patch{Type: r.GetType(), Data: r.GetData()},
		updateOptions(ctx, r.GetOptions(), r.GetSubresource())))
}

// Delete deletes an object and answers its metadata.
func (k *kindless) Delete(ctx context.Context, req *metav1.MetadataDeleteRequest) (*metav1.PartialObjectMetadata, error) {
	r := req.GetRequest()
	b, err := k.find(ctx, req.GetResource(), "delete", "", r.GetNamespace(), r.GetName())
	if err != nil {
		return nil, err
	}
	return partialResult(b.Delete(ctx, r.GetNamespace(), r.GetName(), r.GetOptions()))
}
