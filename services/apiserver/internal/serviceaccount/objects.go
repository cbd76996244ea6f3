package serviceaccount

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/registry"
)

// Objects reads the objects tokens name. Errors are the registry's
// (*apierrors.StatusError, NotFound when the object is gone).
type Objects interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	Node(ctx context.Context, name string) (*corev1.Node, error)
}

// BackendObjects reads the objects through the registry backends that
// find returns (the API's Backend method).
func BackendObjects(find func(group, plural string) registry.Backend) Objects {
	return backendObjects(find)
}

type backendObjects func(group, plural string) registry.Backend

func (b backendObjects) ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	return get[*corev1.ServiceAccount](ctx, b, "serviceaccounts", namespace, name)
}

func (b backendObjects) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return get[*corev1.Pod](ctx, b, "pods", namespace, name)
}

func (b backendObjects) Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return get[*corev1.Secret](ctx, b, "secrets", namespace, name)
}

func (b backendObjects) Node(ctx context.Context, name string) (*corev1.Node, error) {
	return get[*corev1.Node](ctx, b, "nodes", "", name)
}

func get[T proto.Message](ctx context.Context, find backendObjects, plural, namespace, name string) (T, error) {
	var zero T
	backend := find("", plural)
	if backend == nil {
		return zero, fmt.Errorf("no %s backend", plural)
	}
	obj, err := backend.Get(ctx, namespace, name, registry.GetOptions{})
	if err != nil {
		return zero, err
	}
	out, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("the %s backend returned a %T", plural, obj)
	}
	return out, nil
}

// Backend is the serviceaccounts backend with the token subresource;
// both API faces find CreateToken on it.
type Backend struct {
	registry.Backend
	Tokens *TokenRequests
}

var _ registry.TokenIssuer = Backend{}

// CreateToken issues a token of the named service account.
func (b Backend) CreateToken(ctx context.Context, namespace, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	return b.Tokens.Create(ctx, namespace, name, req)
}
