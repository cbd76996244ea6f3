package registry

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/storage"
)

// predicate compiles the label and field selectors of opts.
func (s *Store) predicate(opts ListOptions) (func(proto.Message) bool, error) {
	lsel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fsel, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	if err := s.checkFieldLabels(fsel); err != nil {
		return nil, err
	}
	if lsel.Empty() && fsel.Empty() {
		return nil, nil
	}
	return func(obj proto.Message) bool {
		meta := object.Meta(obj)
		if !lsel.Matches(labels.Set(meta.GetLabels())) {
			return false
		}
		return fsel.Empty() || fsel.Matches(s.fields.get(obj, func() fields.Set { return s.fieldSet(obj, meta) }))
	}, nil
}

func (s *Store) fieldSet(obj proto.Message, meta *metav1.ObjectMeta) map[string]string {
	set := map[string]string{"metadata.name": meta.GetName()}
	if s.res.Namespaced {
		set["metadata.namespace"] = meta.GetNamespace()
	}
	if s.res.Strategy.FieldSet != nil {
		for k, v := range s.res.Strategy.FieldSet(obj) {
			set[k] = v
		}
	}
	return set
}

// checkFieldLabels refuses field selectors on fields the kind does not
// index, with Kubernetes' message.
func (s *Store) checkFieldLabels(sel fields.Selector) error {
	known := s.fieldSet(s.res.New(), object.Meta(s.res.New()))
	for _, req := range sel.Requirements() {
		if _, ok := known[req.Field]; !ok {
			return apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return nil
}

// List returns the matching objects as the kind's list message.
func (s *Store) List(ctx context.Context, namespace string, opts ListOptions) (proto.Message, error) {
	if err := validateListOptions(opts, false); err != nil {
		return nil, err
	}
	pred, err := s.predicate(opts)
	if err != nil {
		return nil, err
	}
	if _, ok := resourceVersion(opts.ResourceVersion); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %q", opts.ResourceVersion))
	}
	res, err := s.storage.List(ctx, s.scope(namespace), storage.ListOptions{
		ResourceVersion:      opts.ResourceVersion,
		ResourceVersionMatch: opts.ResourceVersionMatch,
		Limit:                opts.Limit,
		Continue:             opts.Continue,
		Predicate:            pred,
	})
	if err != nil {
		return nil, s.storageError(err, "")
	}
	list := s.res.NewList()
	object.SetTypeMeta(list, s.res.GroupVersion(), s.res.ListKind)
	lm := object.ListMeta(list)
	lm.ResourceVersion = strconv.FormatInt(res.ResourceVersion, 10)
	lm.Continue = res.Continue
	lm.RemainingItemCount = res.RemainingItemCount
	object.SetItems(list, res.Items)
	return list, nil
}

// scope is the namespace to read: "" for cluster-scoped kinds.
func (s *Store) scope(namespace string) string {
	if !s.res.Namespaced {
		return ""
	}
	return namespace
}

// Watch streams changes to matching objects. Once the options are valid,
// a failure to start (a resourceVersion too old or not reached in time)
// is the watch's one ERROR event, as Kubernetes answers it.
func (s *Store) Watch(ctx context.Context, namespace string, opts ListOptions) (Watcher, error) {
	defaultWatchOptions(&opts)
	if err := validateListOptions(opts, true); err != nil {
		return nil, err
	}
	pred, err := s.predicate(opts)
	if err != nil {
		return nil, err
	}
	if _, ok := resourceVersion(opts.ResourceVersion); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version: %q", opts.ResourceVersion))
	}
	sendInitial := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	var initial []proto.Message
	from, err := s.watchStart(ctx, namespace, opts, pred, sendInitial, &initial)
	if err != nil {
		if _, ok := storage.AsError(err); ok {
			return newErrWatcher(s.storageError(err, "")), nil
		}
		return nil, err
	}
	w, err := s.storage.Watch(ctx, s.scope(namespace), storage.WatchOptions{
		ResourceVersion: strconv.FormatInt(from, 10),
		Predicate:       pred,
		AllowBookmarks:  opts.AllowWatchBookmarks,
		IndexValue:      s.indexValue(opts.FieldSelector),
	})
	if err != nil {
		return nil, s.storageError(err, "")
	}
	var end proto.Message
	if sendInitial && opts.AllowWatchBookmarks {
		end = s.res.New()
		meta := object.Meta(end)
		meta.ResourceVersion = strconv.FormatInt(from, 10)
		meta.Annotations = map[string]string{InitialEventsEndAnnotation: "true"}
	}
	return newWatcher(ctx, w, s, initial, end), nil
}

// indexValue is the value the field selector requires of the storage's
// index field, if it requires one exactly (spec.nodeName=X): the watch
// cache then finds the watch by it.
func (s *Store) indexValue(fieldSelector string) *string {
	field := s.storage.IndexField()
	if field == "" || fieldSelector == "" {
		return nil
	}
	sel, err := fields.ParseSelector(fieldSelector)
	if err != nil {
		return nil
	}
	if v, ok := sel.RequiresExactMatch(field); ok {
		return &v
	}
	return nil
}

// watchStart is the revision a watch starts after, and with
// sendInitialEvents the state at that revision: unset, the latest (a
// quorum read); "0", any (the watch cache's); "N", not older than N
// (sendInitialEvents) or exactly N.
func (s *Store) watchStart(ctx context.Context, namespace string, opts ListOptions, pred func(proto.Message) bool, sendInitial bool, initial *[]proto.Message) (int64, error) {
	if sendInitial {
		res, err := s.storage.List(ctx, s.scope(namespace), storage.ListOptions{
			ResourceVersion: opts.ResourceVersion, ResourceVersionMatch: storage.MatchNotOlderThan, Predicate: pred,
		})
		if err != nil {
			return 0, err
		}
		*initial = res.Items
		return res.ResourceVersion, nil
	}
	switch opts.ResourceVersion {
	case "":
		return s.storage.CurrentRevision(ctx)
	case "0":
		return s.storage.Revision(), nil
	}
	rv, _ := resourceVersion(opts.ResourceVersion)
	return rv, nil
}

// InitialEventsEndAnnotation marks the bookmark that ends the initial
// events of a streaming list.
const InitialEventsEndAnnotation = "k8s.io/initial-events-end"
