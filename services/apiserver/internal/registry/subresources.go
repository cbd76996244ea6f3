package registry

import (
	"context"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	autoscalingv1 "skiff.dev/api/autoscaling/v1"
	corev1 "skiff.dev/api/core/v1"
	policyv1 "skiff.dev/api/policy/v1"
)

// The subresources that need more than the object's verbs: a backend
// serves one by implementing its interface, and both faces serve it from
// there (REST under the resource's Subresources, gRPC by the methods of
// the kind's service).
type (
	// Scaler serves scale (autoscaling/v1 Scale): deployments,
	// replicasets.
	Scaler interface {
		GetScale(ctx context.Context, namespace, name string) (*autoscalingv1.Scale, error)
		UpdateScale(ctx context.Context, namespace, name string, scale *autoscalingv1.Scale) (*autoscalingv1.Scale, error)
	}
	// Binder serves binding: pods.
	Binder interface {
		Bind(ctx context.Context, binding *corev1.Binding) error
	}
	// Finalizer serves finalize, the write of spec.finalizers:
	// namespaces.
	Finalizer interface {
		Finalize(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error)
	}
	// TokenIssuer serves token (authentication.k8s.io/v1 TokenRequest):
	// serviceaccounts.
	TokenIssuer interface {
		CreateToken(ctx context.Context, namespace, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error)
	}
	// PartUpdater serves the subresources that write one part of the
	// object (Resource.Parts): pods/ephemeralcontainers.
	PartUpdater interface {
		UpdatePart(ctx context.Context, obj proto.Message, opts UpdateOptions) (proto.Message, error)
	}
)

// Evictor serves eviction (policy/v1 Eviction): pods. The eviction's
// metadata names the pod; dryRun comes from the request as well as from
// the eviction's deleteOptions.
type Evictor interface {
	Evict(ctx context.Context, eviction *policyv1.Eviction, dryRun bool) error
}
