package serviceaccount

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authenticationv1 "skiff.dev/api/authentication/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/object"
	"skiff.dev/services/apiserver/internal/warning"
)

// Kubernetes' limits and defaults for requested lifetimes.
const (
	DefaultExpirationSeconds = 3600
	MinExpirationSeconds     = 600
	MaxExpirationSeconds     = 1 << 32
	// KubeletExpirationSeconds is what Kubernetes' kubelet asks for; a
	// pod-bound token of that lifetime may be extended (ExtendExpiration).
	KubeletExpirationSeconds = 3607
	// extendedExpirationSeconds is the lifetime of an extended token: a year.
	extendedExpirationSeconds = 365 * 24 * 60 * 60
)

// Config configures issuing and checking tokens.
type Config struct {
	// Issuers: the first is the iss of new tokens; tokens from any of
	// them are accepted.
	Issuers []string
	// APIAudiences are this server's own: a token must name one of them to
	// authenticate here, and a request that names no audience gets them.
	APIAudiences []string
	// SigningKey signs new tokens.
	SigningKey crypto.Signer
	// VerifyKeys check signatures, besides SigningKey's public half.
	VerifyKeys []crypto.PublicKey
	// MaxExpiration caps requested lifetimes; 0 leaves them as asked.
	MaxExpiration time.Duration
	// ExtendExpiration gives a pod-bound token of the kubelet's lifetime
	// (3607 s) for this server's audiences a year, with warnafter at the
	// requested lifetime, as Kubernetes'
	// --service-account-extend-token-expiration does.
	ExtendExpiration bool
	// Objects reads service accounts and the objects tokens are bound to.
	Objects Objects
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// TokenRequests serves serviceaccounts/token.
type TokenRequests struct {
	cfg    Config
	signer *signer
}

// NewTokenRequests checks the configuration and prepares the signer.
func NewTokenRequests(cfg Config) (*TokenRequests, error) {
	if len(cfg.Issuers) == 0 || cfg.Issuers[0] == "" {
		return nil, errors.New("service account tokens need an issuer")
	}
	if len(cfg.APIAudiences) == 0 {
		return nil, errors.New("service account tokens need API audiences")
	}
	if cfg.SigningKey == nil || cfg.Objects == nil {
		return nil, errors.New("service account tokens need a signing key and objects")
	}
	s, err := newSigner(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("service account signing key: %w", err)
	}
	return &TokenRequests{cfg: cfg, signer: s}, nil
}

var tokenRequestResource = apierrors.Resource{Group: "authentication.k8s.io", Resource: "tokenrequests", Kind: "TokenRequest"}

// Create answers a TokenRequest for the service account namespace/name:
// the request with defaults filled in and the token in its status.
func (t *TokenRequests) Create(ctx context.Context, namespace, name string, in *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	req := &authenticationv1.TokenRequest{}
	if in != nil {
		req = proto.Clone(in).(*authenticationv1.TokenRequest)
	}
	if req.Metadata == nil {
		req.Metadata = &metav1.ObjectMeta{}
	}
	if errs := matchNames(req.Metadata, namespace, name); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestResource, name, errs)
	}
	sa, err := t.cfg.Objects.ServiceAccount(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	spec := t.defaulted(req)
	now := t.cfg.now()
	req.Metadata.Name, req.Metadata.Namespace = name, namespace
	req.Metadata.CreationTimestamp = timestamppb.New(now.Truncate(time.Second))
	req.Status = nil
	if errs := validate(spec); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestResource, "", errs)
	}
	pod, secret, err := t.bound(ctx, namespace, name, spec.GetBoundObjectRef())
	if err != nil {
		return nil, err
	}
	if max := int64(t.cfg.MaxExpiration / time.Second); max > 0 && spec.GetExpirationSeconds() > max {
		warning.Add(ctx, fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", spec.GetExpirationSeconds(), max))
		spec.ExpirationSeconds = proto.Int64(max)
	}
	var node *Ref
	if pod != nil {
		if node, err = t.podNode(ctx, pod); err != nil {
			return nil, err
		}
	}
	token, err := t.sign(now, sa, pod, node, secret, spec)
	if err != nil {
		return nil, err
	}
	req.Status = &authenticationv1.TokenRequestStatus{
		Token:               token,
		ExpirationTimestamp: timestamppb.New(now.Add(time.Duration(spec.GetExpirationSeconds()) * time.Second).Truncate(time.Second)),
	}
	object.SetTypeMeta(req, "authentication.k8s.io/v1", "TokenRequest")
	return req, nil
}

// matchNames refuses a body naming another account than the URL.
func matchNames(m *metav1.ObjectMeta, namespace, name string) field.ErrorList {
	var errs field.ErrorList
	if m.GetName() != "" && m.GetName() != name {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), m.GetName(), "must match the service account name if specified"))
	}
	if m.GetNamespace() != "" && m.GetNamespace() != namespace {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), m.GetNamespace(), "must match the service account namespace if specified"))
	}
	return errs
}

// defaulted fills in the spec's defaults: this server's audiences and an
// hour.
func (t *TokenRequests) defaulted(req *authenticationv1.TokenRequest) *authenticationv1.TokenRequestSpec {
	if req.Spec == nil {
		req.Spec = &authenticationv1.TokenRequestSpec{}
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = slices.Clone(t.cfg.APIAudiences)
	}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = proto.Int64(DefaultExpirationSeconds)
	}
	return req.Spec
}

// validate checks a defaulted spec as Kubernetes does.
func validate(spec *authenticationv1.TokenRequestSpec) field.ErrorList {
	var errs field.ErrorList
	exp := field.NewPath("spec", "expirationSeconds")
	switch s := spec.GetExpirationSeconds(); {
	case s < MinExpirationSeconds:
		errs = append(errs, field.Invalid(exp, s, "may not specify a duration less than 10 minutes"))
	case s > MaxExpirationSeconds:
		errs = append(errs, field.Invalid(exp, s, "may not specify a duration larger than 2^32 seconds"))
	}
	for i, a := range spec.GetAudiences() {
		if a == "" {
			errs = append(errs, field.Invalid(field.NewPath("spec", "audiences").Index(i), a, "must not be empty"))
		}
	}
	if ref := spec.GetBoundObjectRef(); ref != nil {
		p := field.NewPath("spec", "boundObjectRef")
		if ref.GetKind() == "" {
			errs = append(errs, field.Required(p.Child("kind"), "Pod or Secret"))
		}
		if ref.GetName() == "" {
			errs = append(errs, field.Required(p.Child("name"), "the name of the Pod or Secret the token is bound to"))
		}
	}
	return errs
}

// bound finds the object the token is bound to, if any, as Kubernetes
// does: it must exist, have the given uid, and a pod must run as the
// account.
func (t *TokenRequests) bound(ctx context.Context, namespace, name string, ref *authenticationv1.BoundObjectReference) (*corev1.Pod, *corev1.Secret, error) {
	if ref == nil {
		return nil, nil, nil
	}
	if v := ref.GetApiVersion(); v != "" && v != "v1" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s, %s", v, ref.GetKind()))
	}
	var uid string
	var pod *corev1.Pod
	var secret *corev1.Secret
	var err error
	switch ref.GetKind() {
	case "Pod":
		if pod, err = t.cfg.Objects.Pod(ctx, namespace, ref.GetName()); err != nil {
			return nil, nil, err
		}
		if sa := pod.GetSpec().GetServiceAccountName(); sa != name {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name %q", name, sa))
		}
		uid = pod.GetMetadata().GetUid()
	case "Secret":
		if secret, err = t.cfg.Objects.Secret(ctx, namespace, ref.GetName()); err != nil {
			return nil, nil, err
		}
		uid = secret.GetMetadata().GetUid()
	default:
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s: want Pod or Secret", ref.GetKind()))
	}
	if ref.GetUid() != "" && ref.GetUid() != uid {
		return nil, nil, apierrors.NewConflict(apierrors.Resource{Resource: ref.GetKind()}, ref.GetName(),
			fmt.Sprintf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.GetUid()))
	}
	return pod, secret, nil
}

// podNode is the node a pod is scheduled to, for the token's claims, as
// Kubernetes records it: the name alone when the node is not found.
func (t *TokenRequests) podNode(ctx context.Context, pod *corev1.Pod) (*Ref, error) {
	name := pod.GetSpec().GetNodeName()
	if name == "" {
		return nil, nil
	}
	node, err := t.cfg.Objects.Node(ctx, name)
	switch {
	case apierrors.IsNotFound(err):
		return &Ref{Name: name}, nil
	case err != nil:
		return nil, err
	}
	return &Ref{Name: name, UID: node.GetMetadata().GetUid()}, nil
}

// sign builds the claims and signs them.
func (t *TokenRequests) sign(now time.Time, sa *corev1.ServiceAccount, pod *corev1.Pod, node *Ref, secret *corev1.Secret, spec *authenticationv1.TokenRequestSpec) (string, error) {
	exp := spec.GetExpirationSeconds()
	var warnAfter NumericDate
	if t.cfg.ExtendExpiration && pod != nil && exp == KubeletExpirationSeconds && subset(spec.GetAudiences(), t.cfg.APIAudiences) {
		warnAfter = NumericDate(now.Add(time.Duration(exp) * time.Second).Unix())
		exp = extendedExpirationSeconds
	}
	m := sa.GetMetadata()
	c := &Claims{
		Issuer: t.cfg.Issuers[0], Subject: UserName(m.GetNamespace(), m.GetName()),
		Audience: slices.Clone(spec.GetAudiences()), ID: newID(),
		IssuedAt: NumericDate(now.Unix()), NotBefore: NumericDate(now.Unix()),
		Expiry: NumericDate(now.Add(time.Duration(exp) * time.Second).Unix()),
		Kubernetes: &Private{
			Namespace:      m.GetNamespace(),
			ServiceAccount: Ref{Name: m.GetName(), UID: m.GetUid()},
			WarnAfter:      warnAfter,
		},
	}
	if pod != nil {
		c.Kubernetes.Pod = &Ref{Name: pod.GetMetadata().GetName(), UID: pod.GetMetadata().GetUid()}
		c.Kubernetes.Node = node
	}
	if secret != nil {
		c.Kubernetes.Secret = &Ref{Name: secret.GetMetadata().GetName(), UID: secret.GetMetadata().GetUid()}
	}
	token, err := t.signer.sign(c)
	if err != nil {
		return "", fmt.Errorf("token of service account %s/%s: %w", m.GetNamespace(), m.GetName(), err)
	}
	return token, nil
}

func subset(sub, of []string) bool {
	for _, s := range sub {
		if !slices.Contains(of, s) {
			return false
		}
	}
	return true
}

// newID is a random UUID (version 4), the token's jti.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
