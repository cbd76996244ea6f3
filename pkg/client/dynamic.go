package client

import (
	"context"
	"fmt"

	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
)

// DynamicResource is the client of any resource's objects as Kubernetes
// JSON (apiVersion and kind included), for code that knows a kind only by
// its resource name: custom resources, tools, tests.
type DynamicResource struct {
	svc       metav1.DynamicServiceClient
	gvr       *metav1.GroupVersionResource
	namespace string
}

// Dynamic is the JSON client of a resource in a namespace ("" for
// cluster-scoped kinds, or every namespace in List and Watch).
func (c *Client) Dynamic(gvr GroupVersionResource, namespace string) *DynamicResource {
	return &DynamicResource{svc: metav1.NewDynamicServiceClient(c.conn), gvr: gvr.proto(), namespace: namespace}
}

func (d *DynamicResource) write(obj []byte, opts WriteOptions) *metav1.DynamicWriteRequest {
	return &metav1.DynamicWriteRequest{Resource: d.gvr, Namespace: d.namespace, Object: &metav1.DynamicObject{Json: obj}, Options: opts.proto()}
}

func jsonOf(obj *metav1.DynamicObject, err error) ([]byte, error) {
	if err != nil {
		return nil, FromGRPC(err)
	}
	return obj.GetJson(), nil
}

// Create stores a new object; a namespaced one without a namespace goes
// to the client's.
func (d *DynamicResource) Create(ctx context.Context, obj []byte, opts WriteOptions) ([]byte, error) {
	return jsonOf(d.svc.Create(ctx, d.write(obj, opts)))
}

// Get reads one object.
func (d *DynamicResource) Get(ctx context.Context, name string) ([]byte, error) {
	return jsonOf(d.svc.Get(ctx, &metav1.MetadataGetRequest{Resource: d.gvr, Request: &metav1.GetRequest{Namespace: d.namespace, Name: name}}))
}

// List returns the matching objects and the list's resourceVersion.
func (d *DynamicResource) List(ctx context.Context, opts ListOptions) ([][]byte, string, error) {
	list, err := d.svc.List(ctx, &metav1.MetadataListRequest{Resource: d.gvr, Request: opts.proto(d.namespace)})
	if err != nil {
		return nil, "", FromGRPC(err)
	}
	items := make([][]byte, 0, len(list.GetItems()))
	for _, it := range list.GetItems() {
		items = append(items, it.GetJson())
	}
	return items, list.GetMetadata().GetResourceVersion(), nil
}

// Update replaces an object; its resourceVersion must be current.
func (d *DynamicResource) Update(ctx context.Context, obj []byte, opts WriteOptions) ([]byte, error) {
	return jsonOf(d.svc.Update(ctx, d.write(obj, opts)))
}

// UpdateStatus replaces an object's status only.
func (d *DynamicResource) UpdateStatus(ctx context.Context, obj []byte, opts WriteOptions) ([]byte, error) {
	return jsonOf(d.svc.UpdateStatus(ctx, d.write(obj, opts)))
}

// Patch applies a patch of the given type; subresource is "" or "status".
func (d *DynamicResource) Patch(ctx context.Context, name, patchType string, data []byte, opts WriteOptions, subresource string) ([]byte, error) {
	return jsonOf(d.svc.Patch(ctx, &metav1.MetadataPatchRequest{Resource: d.gvr, Request: &metav1.PatchRequest{
		Namespace: d.namespace, Name: name, Type: patchType, Data: data, Options: opts.proto(), Subresource: subresource}}))
}

// Delete deletes an object and returns its last state.
func (d *DynamicResource) Delete(ctx context.Context, name string, opts *metav1.DeleteOptions) ([]byte, error) {
	return jsonOf(d.svc.Delete(ctx, &metav1.MetadataDeleteRequest{Resource: d.gvr, Request: &metav1.DeleteRequest{
		Namespace: d.namespace, Name: name, Options: opts}}))
}

// Watch streams changes until ctx ends, Stop is called or the server ends
// the watch; each event's Object carries the object's JSON.
func (d *DynamicResource) Watch(ctx context.Context, opts ListOptions) (Watcher[*metav1.DynamicObject], error) {
	req := &metav1.MetadataListRequest{Resource: d.gvr, Request: opts.proto(d.namespace)}
	return startWatch(ctx, func(ctx context.Context) (func() (Event[*metav1.DynamicObject], error), error) {
		stream, err := d.svc.Watch(ctx, req)
		if err != nil {
			return nil, err
		}
		return func() (Event[*metav1.DynamicObject], error) {
			ev, err := stream.Recv()
			if err != nil {
				return Event[*metav1.DynamicObject]{}, err
			}
			return Event[*metav1.DynamicObject]{Type: ev.GetType(), Object: ev.GetObject(), Status: ev.GetStatus()}, nil
		}, nil
	})
}

// GetScale reads the object's scale subresource (autoscaling/v1 Scale),
// for any resource that has one, custom resources included.
func (d *DynamicResource) GetScale(ctx context.Context, name string) (*autoscalingv1.Scale, error) {
	data, err := jsonOf(d.svc.Get(ctx, &metav1.MetadataGetRequest{Resource: d.gvr, Subresource: "scale",
		Request: &metav1.GetRequest{Namespace: d.namespace, Name: name}}))
	if err != nil {
		return nil, err
	}
	out := &autoscalingv1.Scale{}
	if err := kjson.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("decode the scale of %s %s: %w", d.gvr, name, err)
	}
	return out, nil
}
