package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
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
}

// RegisterKindless serves the resources' discovery, and their objects as
// metadata and as JSON, whatever their kind.
func RegisterKindless(s grpc.ServiceRegistrar, c Catalog) {
	k := &kindless{catalog: c}
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

// find is the backend of a resource; NotFound when it is not served.
func (k *kindless) find(gvr *metav1.GroupVersionResource) (registry.Backend, error) {
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
	b, err := k.find(req.GetResource())
	if err != nil {
		return nil, err
	}
	r := req.GetRequest()
	return partialResult(b.Get(ctx, r.GetNamespace(), r.GetName(), registry.GetOptions{ResourceVersion: r.GetResourceVersion()}))
}

// List lists the objects' metadata.
func (k *kindless) List(ctx context.Context, req *metav1.MetadataListRequest) (*metav1.PartialObjectMetadataList, error) {
	b, err := k.find(req.GetResource())
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
	b, err := k.find(req.GetResource())
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
	b, err := k.find(req.GetResource())
	if err != nil {
		return nil, err
	}
	r := req.GetRequest()
	return partialResult(b.Patch(ctx, r.GetNamespace(), r.GetName(), registry.Patch{Type: r.GetType(), Data: r.GetData()},
		updateOptions(ctx, r.GetOptions(), r.GetSubresource())))
}

// Delete deletes an object and answers its metadata.
func (k *kindless) Delete(ctx context.Context, req *metav1.MetadataDeleteRequest) (*metav1.PartialObjectMetadata, error) {
	b, err := k.find(req.GetResource())
	if err != nil {
		return nil, err
	}
	r := req.GetRequest()
	return partialResult(b.Delete(ctx, r.GetNamespace(), r.GetName(), r.GetOptions()))
}
