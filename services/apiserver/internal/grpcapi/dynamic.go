package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/registry"
)

// dynamic serves the DynamicService: any resource's objects as Kubernetes
// JSON, over the same backends.
type dynamic struct {
	metav1.UnimplementedDynamicServiceServer
	k *kindless
}

// findServed is a served resource and its backend; NotFound when it is
// not served.
func (k *kindless) findServed(gvr *metav1.GroupVersionResource) (served, error) {
	e, ok := k.catalog.Snapshot().Lookup(gvr.GetGroup(), gvr.GetVersion(), gvr.GetResource())
	sv := served{res: e.Resource, backend: e.Backend}
	if !ok || sv.backend == nil {
		return served{}, toStatus(apierrors.NewNotFound(apierrors.Resource{Group: gvr.GetGroup(), Resource: gvr.GetResource()}, ""))
	}
	return sv, nil
}

// findAllowed is findServed once the caller is allowed the verb.
func (k *kindless) findAllowed(ctx context.Context, gvr *metav1.GroupVersionResource, verb, subresource, namespace, name string) (served, error) {
	if err := authorizeKindless(ctx, k.az, gvr, verb, subresource, namespace, name); err != nil {
		return served{}, err
	}
	return k.findServed(gvr)
}

// encode is obj as Kubernetes JSON with its apiVersion and kind.
func encode(res *registry.Resource, obj proto.Message) (*metav1.DynamicObject, error) {
	obj = proto.Clone(obj)
	object.SetTypeMeta(obj, res.GroupVersion(), res.Kind)
	data, err := kjson.Marshal(obj)
	if err != nil {
		return nil, toStatus(apierrors.NewInternalError(fmt.Errorf("encode %s: %w", res.Kind, err)))
	}
	return &metav1.DynamicObject{Json: data}, nil
}

func encodeResult(res *registry.Resource, obj proto.Message, err error) (*metav1.DynamicObject, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return encode(res, obj)
}

// decode reads a written object: strictly under fieldValidation=Strict,
// unknown fields dropped otherwise; its apiVersion and kind, when given,
// must be the resource's, and a namespaced object without a namespace
// goes to the request's.
func decode(res *registry.Resource, req *metav1.DynamicWriteRequest) (proto.Message, error) {
	obj := res.New()
	data := req.GetObject().GetJson()
	err := kjson.Unmarshal(data, obj, kjson.Strict())
	var strict *kjson.StrictError
	switch {
	case errors.As(err, &strict) && req.GetOptions().GetFieldValidation() == "Strict":
		return nil, apierrors.NewStrictDecoding(strict.Problems)
	case errors.As(err, &strict):
		proto.Reset(obj)
		err = kjson.Unmarshal(data, obj)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the JSON object cannot be read: %v", err))
	}
	apiVersion, kind := object.TypeMeta(obj)
	if apiVersion != "" && apiVersion != res.GroupVersion() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", apiVersion, res.GroupVersion()))
	}
	if kind != "" && kind != res.Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", kind, res.Kind))
	}
	object.SetTypeMeta(obj, res.GroupVersion(), res.Kind)
	if m := object.Meta(obj); res.Namespaced && m.GetNamespace() == "" {
		m.Namespace = req.GetNamespace()
	}
	return obj, nil
}

func (d *dynamic) write(ctx context.Context, verb, subresource string, req *metav1.DynamicWriteRequest,
	do func(registry.Backend, proto.Message, *metav1.WriteOptions) (proto.Message, error)) (*metav1.DynamicObject, error) {
	sv, err := d.k.findServed(req.GetResource())
	if err != nil {
		return nil, err
	}
	obj, err := decode(sv.res, req)
	if err != nil {
		return nil, toStatus(err)
	}
	meta := object.Meta(obj)
	name := meta.GetName()
	if verb == "create" {
		name = ""
	}
	if err := authorizeKindless(ctx, d.k.az, req.GetResource(), verb, subresource, meta.GetNamespace(), name); err != nil {
		return nil, err
	}
	out, err := do(sv.backend, obj, req.GetOptions())
	return encodeResult(sv.res, out, err)
}

// Create stores a new object.
func (d *dynamic) Create(ctx context.Context, req *metav1.DynamicWriteRequest) (*metav1.DynamicObject, error) {
	return d.write(ctx, "create", "", req, func(b registry.Backend, obj proto.Message, o *metav1.WriteOptions) (proto.Message, error) {
		return b.Create(ctx, obj, registry.CreateOptions{DryRun: o.GetDryRun(), FieldManager: fieldManager(ctx, o), FieldValidation: o.GetFieldValidation()})
	})
}

// Update replaces an object.
func (d *dynamic) Update(ctx context.Context, req *metav1.DynamicWriteRequest) (*metav1.DynamicObject, error) {
	return d.write(ctx, "update", "", req, func(b registry.Backend, obj proto.Message, o *metav1.WriteOptions) (proto.Message, error) {
		return b.Update(ctx, obj, updateOptions(ctx, o, ""))
	})
}

// UpdateStatus replaces an object's status.
func (d *dynamic) UpdateStatus(ctx context.Context, req *metav1.DynamicWriteRequest) (*metav1.DynamicObject, error) {
	return d.write(ctx, "update", "status", req, func(b registry.Backend, obj proto.Message, o *metav1.WriteOptions) (proto.Message, error) {
		return b.UpdateStatus(ctx, obj, updateOptions(ctx, o, "status"))
	})
}

// Get reads one object.
func (d *dynamic) Get(ctx context.Context, req *metav1.MetadataGetRequest) (*metav1.DynamicObject, error) {
	r := req.GetRequest()
	sv, err := d.k.findAllowed(ctx, req.GetResource(), "get", req.GetSubresource(), r.GetNamespace(), r.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetSubresource() != "" {
		return getSubresource(ctx, sv.res, sv.backend, req)
	}
	out, err := sv.backend.Get(ctx, r.GetNamespace(), r.GetName(), registry.GetOptions{ResourceVersion: r.GetResourceVersion()})
	return encodeResult(sv.res, out, err)
}

// List lists objects.
func (d *dynamic) List(ctx context.Context, req *metav1.MetadataListRequest) (*metav1.DynamicList, error) {
	r := req.GetRequest()
	sv, err := d.k.findAllowed(ctx, req.GetResource(), "list", "", r.GetNamespace(), authorizer.SelectedName(r.GetFieldSelector()))
	if err != nil {
		return nil, err
	}
	list, err := sv.backend.List(ctx, req.GetRequest().GetNamespace(), listOptions(req.GetRequest()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &metav1.DynamicList{Metadata: object.ListMeta(list)}
	for _, item := range object.Items(list) {
		o, err := encode(sv.res, item)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, o)
	}
	return out, nil
}

// Watch streams changes as JSON objects.
func (d *dynamic) Watch(req *metav1.MetadataListRequest, stream grpc.ServerStreamingServer[metav1.DynamicWatchEvent]) error {
	r := req.GetRequest()
	sv, err := d.k.findAllowed(stream.Context(), req.GetResource(), "watch", "", r.GetNamespace(), authorizer.SelectedName(r.GetFieldSelector()))
	if err != nil {
		return err
	}
	return pump(stream.Context(), sv.backend, req.GetRequest(), func(ev registry.Event) error {
		out := &metav1.DynamicWatchEvent{Type: ev.Type}
		if st, isError := errorStatus(ev); isError {
			out.Status = st
		} else if ev.Object != nil {
			var err error
			if out.Object, err = encode(sv.res, ev.Object); err != nil {
				return err
			}
		}
		return stream.Send(out)
	})
}

// Patch patches an object.
func (d *dynamic) Patch(ctx context.Context, req *metav1.MetadataPatchRequest) (*metav1.DynamicObject, error) {
	r := req.GetRequest()
	sv, err := d.k.findAllowed(ctx, req.GetResource(), "patch", r.GetSubresource(), r.GetNamespace(), r.GetName())
	if err != nil {
		return nil, err
	}
	out, err := sv.backend.Patch(ctx, r.GetNamespace(), r.GetName(), registry.Patch{Type: r.GetType(), Data: r.GetData()},
		updateOptions(ctx, r.GetOptions(), r.GetSubresource()))
	return encodeResult(sv.res, out, err)
}

// Delete deletes an object and answers it as it was, or as it lingers.
func (d *dynamic) Delete(ctx context.Context, req *metav1.MetadataDeleteRequest) (*metav1.DynamicObject, error) {
	r := req.GetRequest()
	sv, err := d.k.findAllowed(ctx, req.GetResource(), "delete", "", r.GetNamespace(), r.GetName())
	if err != nil {
		return nil, err
	}
	out, err := sv.backend.Delete(ctx, r.GetNamespace(), r.GetName(), r.GetOptions())
	return encodeResult(sv.res, out, err)
}

// scaleResource names autoscaling/v1 Scale, the shape of every scale
// subresource.
var scaleResource = &registry.Resource{Group: "autoscaling", Version: "v1", Kind: "Scale"}

// getSubresource reads a subresource through DynamicService.Get: only
// scale, for any resource whose backend serves it.
func getSubresource(ctx context.Context, res *registry.Resource, b registry.Backend, req *metav1.MetadataGetRequest) (*metav1.DynamicObject, error) {
	r := req.GetRequest()
	sc, ok := b.(registry.Scaler)
	if req.GetSubresource() != "scale" || !ok || !slices.Contains(res.Subresources, "scale") {
		return nil, toStatus(apierrors.NewNotFound(res.ErrorResource(), r.GetName()+"/"+req.GetSubresource()))
	}
	out, err := sc.GetScale(ctx, r.GetNamespace(), r.GetName())
	return encodeResult(scaleResource, out, err)
}
