package grpcapi

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	authenticationv1 "skiff.dev/api/authentication/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	policyv1 "skiff.dev/api/policy/v1"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/kinds"
	"skiff.dev/services/apiserver/internal/registry"
)

// anyBackend has every subresource a service may ask for.
type anyBackend struct{ registry.Backend }

func (anyBackend) GetScale(context.Context, string, string) (*autoscalingv1.Scale, error) {
	return nil, nil
}

func (anyBackend) UpdateScale(context.Context, string, string, *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	return nil, nil
}

func (anyBackend) Bind(context.Context, *corev1.Binding) error { return nil }

func (anyBackend) Evict(context.Context, *policyv1.Eviction, bool) error { return nil }

func (anyBackend) Finalize(context.Context, proto.Message, registry.UpdateOptions) (proto.Message, error) {
	return nil, nil
}

func (anyBackend) UpdatePart(context.Context, proto.Message, registry.UpdateOptions) (proto.Message, error) {
	return nil, nil
}

func (anyBackend) CreateToken(context.Context, string, string, *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	return nil, nil
}

// TestEveryServiceBinds: every kind's gRPC service is found by its name
// and each of its methods has a handler; the kinds without one are those
// served on REST only.
func TestEveryServiceBinds(t *testing.T) {
	var restOnly []string
	resources := kinds.All()
	for _, r := range append(kinds.Reviews(), kinds.AccessReviews(nil, nil)...) {
		resources = append(resources, r.Resource)
	}
	for _, res := range resources {
		desc, err := protoregistry.GlobalFiles.FindDescriptorByName(ServiceName(res))
		if err != nil {
			restOnly = append(restOnly, res.GroupVersion()+"/"+res.Plural)
			continue
		}
		sd, err := bind(desc.(protoreflect.ServiceDescriptor), res, anyBackend{}, authorizer.AlwaysAllow)
		if err != nil {
			t.Errorf("%s: %v", ServiceName(res), err)
			continue
		}
		if got := len(sd.Methods) + len(sd.Streams); got != desc.(protoreflect.ServiceDescriptor).Methods().Len() || len(sd.Streams) != 1 {
			t.Errorf("%s: %d methods and %d streams bound", sd.ServiceName, len(sd.Methods), len(sd.Streams))
		}
	}
	slices.Sort(restOnly)
	want := []string{"authentication.k8s.io/v1/selfsubjectreviews", "authentication.k8s.io/v1/tokenreviews", "authorization.k8s.io/v1/localsubjectaccessreviews",
		"authorization.k8s.io/v1/selfsubjectaccessreviews", "authorization.k8s.io/v1/selfsubjectrulesreviews",
		"authorization.k8s.io/v1/subjectaccessreviews", "events.k8s.io/v1/events"}
	if !slices.Equal(restOnly, want) {
		t.Errorf("kinds without a gRPC service: got %v, want %v", restOnly, want)
	}
}

// TestMissingSubresource: a service whose backend lacks a subresource its
// methods need does not bind.
func TestMissingSubresource(t *testing.T) {
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName("skiff.apps.v1.DeploymentService")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bind(desc.(protoreflect.ServiceDescriptor), nil, struct{ registry.Backend }{}, authorizer.AlwaysAllow); err == nil {
		t.Error("a Deployment service over a backend without scale bound, want an error")
	}
}
