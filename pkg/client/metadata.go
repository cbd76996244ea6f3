package client

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	metav1 "skiff.dev/api/meta/v1"
)

// GroupVersionResource names a served resource; Group is "" for the core
// group.
type GroupVersionResource struct{ Group, Version, Resource string }

func (g GroupVersionResource) proto() *metav1.GroupVersionResource {
	return &metav1.GroupVersionResource{Group: g.Group, Version: g.Version, Resource: g.Resource}
}

// String is group/version/resource ("v1/pods" in the core group).
func (g GroupVersionResource) String() string {
	if g.Group == "" {
		return g.Version + "/" + g.Resource
	}
	return g.Group + "/" + g.Version + "/" + g.Resource
}

// ServedResource is one resource the apiserver serves.
type ServedResource struct {
	GroupVersionResource
	Kind         string
	Namespaced   bool
	Verbs        []string
	Subresources []string
}

// APIVersion is the resource's group/version as objects name it ("v1",
// "apps/v1").
func (r ServedResource) APIVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// Has reports whether the resource serves verb.
func (r ServedResource) Has(verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// ServedResources lists every resource the apiserver serves, built-in or
// custom.
func (c *Client) ServedResources(ctx context.Context) ([]ServedResource, error) {
	resp, err := metav1.NewDiscoveryServiceClient(c.conn).Resources(ctx, &metav1.ResourcesRequest{})
	if err != nil {
		return nil, FromGRPC(err)
	}
	var out []ServedResource
	for _, r := range resp.GetResources() {
		g := r.GetResource()
		out = append(out, ServedResource{
			GroupVersionResource: GroupVersionResource{Group: g.GetGroup(), Version: g.GetVersion(), Resource: g.GetResource()},
			Kind:                 r.GetKind(), Namespaced: r.GetNamespaced(), Verbs: r.GetVerbs(), Subresources: r.GetSubresources(),
		})
	}
	return out, nil
}

// errMetadataOnly answers the writes a metadata client cannot make.
var errMetadataOnly = errors.New("the metadata client cannot create or update objects; patch them")

// Metadata is the client of any resource's objects seen as their
// metadata alone: get, list, watch, patch and delete (no create or
// update, which need the whole object).
func (c *Client) Metadata(gvr GroupVersionResource, namespace string) *Resource[*metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList] {
	svc := metav1.NewMetadataServiceClient(c.conn)
	ref := gvr.proto()
	return &Resource[*metav1.PartialObjectMetadata, *metav1.PartialObjectMetadataList]{
		namespace: namespace,
		create: func(context.Context, *metav1.PartialObjectMetadata, WriteOptions) (*metav1.PartialObjectMetadata, error) {
			return nil, errMetadataOnly
		},
		get: func(ctx context.Context, r *metav1.GetRequest) (*metav1.PartialObjectMetadata, error) {
			return svc.Get(ctx, &metav1.MetadataGetRequest{Resource: ref, Request: r})
		},
		list: func(ctx context.Context, r *metav1.ListRequest) (*metav1.PartialObjectMetadataList, error) {
			return svc.List(ctx, &metav1.MetadataListRequest{Resource: ref, Request: r})
		},
		watch: func(ctx context.Context, r *metav1.ListRequest) (func() (Event[*metav1.PartialObjectMetadata], error), error) {
			stream, err := svc.Watch(ctx, &metav1.MetadataListRequest{Resource: ref, Request: r})
			if err != nil {
				return nil, err
			}
			return metadataEvents(stream), nil
		},
		update: func(context.Context, *metav1.PartialObjectMetadata, WriteOptions, bool) (*metav1.PartialObjectMetadata, error) {
			return nil, errMetadataOnly
		},
		patch: func(ctx context.Context, r *metav1.PatchRequest) (*metav1.PartialObjectMetadata, error) {
			return svc.Patch(ctx, &metav1.MetadataPatchRequest{Resource: ref, Request: r})
		},
		delete: func(ctx context.Context, r *metav1.DeleteRequest) (*metav1.PartialObjectMetadata, error) {
			return svc.Delete(ctx, &metav1.MetadataDeleteRequest{Resource: ref, Request: r})
		},
	}
}

func metadataEvents(stream grpc.ServerStreamingClient[metav1.MetadataWatchEvent]) func() (Event[*metav1.PartialObjectMetadata], error) {
	return func() (Event[*metav1.PartialObjectMetadata], error) {
		ev, err := stream.Recv()
		if err != nil {
			return Event[*metav1.PartialObjectMetadata]{}, err
		}
		return Event[*metav1.PartialObjectMetadata]{Type: ev.GetType(), Object: ev.GetObject(), Status: ev.GetStatus()}, nil
	}
}
