// Package kubeobject finds an object the way kubectl names it (TYPE/NAME
// or TYPE NAME, with short names, plurals and group suffixes) through the
// cluster's discovery, and reads it with client-go.
package kubeobject

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Config says which cluster and namespace, as kubectl's flags do.
type Config struct {
	Kubeconfig string // --kubeconfig; empty: $KUBECONFIG, then ~/.kube/config
	Context    string // --context
	Namespace  string // -n; empty: the context's namespace, else default
}

// Ref is a resolved object reference.
type Ref struct {
	Resource   schema.GroupVersionResource
	Kind       string
	Namespace  string // empty for a cluster-scoped object
	Name       string
	Namespaced bool
}

// String names the object as a user wrote it: deployment default/web.
func (r Ref) String() string {
	kind := strings.ToLower(r.Kind)
	if r.Namespaced {
		return kind + " " + r.Namespace + "/" + r.Name
	}
	return kind + " " + r.Name
}

// ParseArgs splits TYPE/NAME or TYPE NAME.
func ParseArgs(args []string) (typ, name string, err error) {
	switch {
	case len(args) == 1 && strings.Count(args[0], "/") == 1:
		typ, name, _ = strings.Cut(args[0], "/")
	case len(args) == 2 && !strings.Contains(args[0], "/"):
		typ, name = args[0], args[1]
	default:
		return "", "", errors.New("name one object as TYPE/NAME or TYPE NAME, e.g. deployment/web")
	}
	if typ == "" || name == "" {
		return "", "", fmt.Errorf("%q: want TYPE/NAME, e.g. deployment/web", strings.Join(args, " "))
	}
	return typ, name, nil
}

// Getter reads objects of one cluster.
type Getter struct {
	namespace string
	mapper    meta.RESTMapper
	dynamic   dynamic.Interface
}

// New connects to the cluster cfg names; discovery happens on first use.
func New(cfg Config) (*Getter, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = cfg.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: cfg.Context, Context: clientcmdapi.Context{Namespace: cfg.Namespace}})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load the kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, fmt.Errorf("load the kubeconfig: %w", err)
	}
	return newGetter(rc, ns)
}

func newGetter(rc *rest.Config, namespace string) (*Getter, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(cached), cached, nil)
	return &Getter{namespace: namespace, mapper: mapper, dynamic: dyn}, nil
}

// Resolve turns a kubectl resource type (deployment, deploy,
// deployments.apps, deployments.v1.apps) and a name into a reference.
func (g *Getter) Resolve(typ, name string) (Ref, error) {
	full, gr := schema.ParseResourceArg(strings.ToLower(typ))
	var gvr schema.GroupVersionResource
	var err error
	if full != nil {
		gvr, err = g.mapper.ResourceFor(*full)
	}
	if full == nil || err != nil {
		gvr, err = g.mapper.ResourceFor(gr.WithVersion(""))
	}
	if err != nil {
		return Ref{}, fmt.Errorf("the server doesn't have a resource type %q: %w", typ, err)
	}
	gvk, err := g.mapper.KindFor(gvr)
	if err != nil {
		return Ref{}, fmt.Errorf("resource type %q: %w", typ, err)
	}
	m, err := g.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return Ref{}, fmt.Errorf("resource type %q: %w", typ, err)
	}
	ref := Ref{Resource: gvr, Kind: gvk.Kind, Name: name, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}
	if ref.Namespaced {
		ref.Namespace = g.namespace
	}
	return ref, nil
}

// ErrNotFound means the object does not exist.
var ErrNotFound = errors.New("not found")

// Annotations reads an object's annotations.
func (g *Getter) Annotations(ctx context.Context, ref Ref) (map[string]string, error) {
	var ri dynamic.ResourceInterface = g.dynamic.Resource(ref.Resource)
	if ref.Namespaced {
		ri = g.dynamic.Resource(ref.Resource).Namespace(ref.Namespace)
	}
	obj, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", ref, err)
	}
	return obj.GetAnnotations(), nil
}
