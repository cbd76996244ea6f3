package fieldmanager

import (
	"fmt"
	"skiff.dev/services/apiserver/internal/jsonvalue"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/merge"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// Manager tracks field ownership of one resource's objects. It does not
// change after New and is safe for concurrent use.
type Manager struct {
	tc      managedfields.TypeConverter
	gvk     schema.GroupVersionKind
	version fieldpath.APIVersion
	// updaters by subresource; plain serves subresources without reset
	// fields.
	updaters map[string]*merge.Updater
	plain    *merge.Updater
}

// New: apiVersion is the group/version objects are served in ("apps/v1"),
// kind their kind. resetFields maps a subresource ("" for the main
// resource) to the fields a write through it does not own, as dotted paths
// ("status", "metadata.labels"): for kinds with a status subresource
// {"": {"status"}, "status": {"spec", "metadata"}}, Kubernetes' reset
// fields of the two strategies.
func New(tc managedfields.TypeConverter, apiVersion, kind string, resetFields map[string][]string) *Manager {
	version := fieldpath.APIVersion(apiVersion)
	conv := servedVersion(version)
	m := &Manager{
		tc:       tc,
		gvk:      schema.FromAPIVersionAndKind(apiVersion, kind),
		version:  version,
		updaters: map[string]*merge.Updater{},
		plain:    &merge.Updater{Converter: conv},
	}
	for sub, paths := range resetFields {
		set := fieldpath.NewSet()
		for _, p := range paths {
			set.Insert(dottedPath(p))
		}
		m.updaters[sub] = &merge.Updater{
			Converter:    conv,
			IgnoreFilter: map[fieldpath.APIVersion]fieldpath.Filter{version: fieldpath.NewExcludeSetFilter(set)},
		}
	}
	return m
}

func dottedPath(p string) fieldpath.Path {
	var path fieldpath.Path
	for _, name := range strings.Split(p, ".") {
		path = append(path, fieldpath.PathElement{FieldName: &name})
	}
	return path
}

func (m *Manager) updater(subresource string) *merge.Updater {
	if u, ok := m.updaters[subresource]; ok {
		return u
	}
	return m.plain
}

// emptyObject stands for the object before it was created.
func (m *Manager) emptyObject() map[string]any {
	apiVersion, kind := m.gvk.ToAPIVersionAndKind()
	return map[string]any{"apiVersion": apiVersion, "kind": kind}
}

// toTyped reads an object of this resource in the served version,
// whatever type meta it carries.
func (m *Manager) toTyped(obj map[string]any, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	o := make(map[string]any, len(obj)+2)
	for k, v := range obj {
		o[k] = v
	}
	o["apiVersion"], o["kind"] = m.gvk.ToAPIVersionAndKind()
	return m.tc.ObjectToTyped(&unstructured.Unstructured{Object: o}, opts...)
}

// describe names an object in errors as Kubernetes does:
// "default/web; apps/v1, Kind=Deployment".
func describe(obj map[string]any) string {
	u := unstructured.Unstructured{Object: obj}
	return fmt.Sprintf("%s/%s; %v", u.GetNamespace(), u.GetName(), u.GroupVersionKind())
}

// identityFields are owned by no manager.
var identityFields = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

// stripIdentity takes the identity fields out of id's set, dropping the
// entry when nothing is left.
func stripIdentity(fields fieldpath.ManagedFields, id string) {
	vs, ok := fields[id]
	if !ok {
		return
	}
	set := vs.Set().Difference(identityFields)
	if set.Empty() {
		delete(fields, id)
		return
	}
	fields[id] = fieldpath.NewVersionedSet(set, vs.APIVersion(), vs.Applied())
}

func stamp(now time.Time) *metav1.Time {
	return &metav1.Time{Time: now.UTC().Truncate(time.Second)}
}

func copyObject(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	return jsonvalue.Copy(obj).(map[string]any)
}
