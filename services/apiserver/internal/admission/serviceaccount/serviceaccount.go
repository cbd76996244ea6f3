// Package serviceaccount is Kubernetes' ServiceAccount admission plugin.
// On pod create it:
//
//   - gives a pod without a service account the namespace's "default" one;
//   - refuses the pod when its service account does not exist (the
//     "default" account is looked for a little longer: the
//     controller-manager creates it just after the namespace);
//   - mounts the kube-api-access-<random> projected volume (a bound token
//     of the account, the cluster's CA from the kube-root-ca.crt
//     ConfigMap and the pod's namespace) read-only at
//     /var/run/secrets/kubernetes.io/serviceaccount into every container
//     and init container, unless the pod, or else its account, sets
//     automountServiceAccountToken to false; a container that already
//     mounts something there keeps it;
//   - copies the account's imagePullSecrets into a pod that has none;
//   - when the account has the kubernetes.io/enforce-mountable-secrets
//     annotation, refuses pods that use secrets the account does not list
//     (also for ephemeral containers added later).
//
// Mirror pods (the API copies of a kubelet's static pods) are not changed,
// and may refer to no service account, secret or token.
package serviceaccount

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/admission"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Name is the plugin's name.
const Name = "ServiceAccount"

const (
	// DefaultServiceAccount is the account of a pod that names none.
	DefaultServiceAccount = "default"
	// VolumePrefix starts the name of the token volume the plugin adds.
	VolumePrefix = "kube-api-access-"
	// MountPath is where the token volume is mounted.
	MountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// TokenExpirationSeconds is the lifetime the volume asks its token
	// for: Kubernetes' 3607 s, which the apiserver may extend to a year
	// (with a warnafter claim at an hour) so old clients keep working.
	TokenExpirationSeconds = 3607
	// RootCAConfigMap holds the cluster's CA in every namespace.
	RootCAConfigMap = "kube-root-ca.crt"

	enforceMountableSecrets = "kubernetes.io/enforce-mountable-secrets"
	mirrorAnnotation        = "kubernetes.io/config.mirror"
	// defaultAccountAttempts is how often the default account is looked
	// for before a pod is refused: it is created by a controller, and may
	// lag a namespace made a moment ago.
	defaultAccountAttempts = 10
)

var serviceAccountResource = apierrors.Resource{Resource: "serviceaccount"}

type plugin struct {
	accounts registry.Backend
	// volumeName names a new token volume; retryInterval is the pause
	// between lookups of the default account.
	volumeName    func() string
	retryInterval func() time.Duration
}

// Plugin returns the plugin, reading service accounts from their backend.
func Plugin(accounts registry.Backend) admission.Plugin {
	return newPlugin(accounts).plugin()
}

func newPlugin(accounts registry.Backend) *plugin {
	return &plugin{
		accounts:   accounts,
		volumeName: func() string { return registry.GenerateName(VolumePrefix) },
		// Kubernetes waits a random 100-200 ms between its lookups.
		retryInterval: func() time.Duration { return time.Duration(100+rand.IntN(100)) * time.Millisecond },
	}
}

func (p *plugin) plugin() admission.Plugin {
	return admission.Plugin{Name: Name, Mutate: p.mutate, Validate: p.validate}
}

// podWrite is the pod of a write the plugin looks at: creates of pods and
// updates of their ephemeral containers.
func podWrite(w *registry.Write) (*corev1.Pod, bool) {
	if w.Resource.Group != "" || w.Resource.Plural != "pods" || (w.Subresource != "" && w.Subresource != "ephemeralcontainers") {
		return nil, false
	}
	pod, ok := w.Object.(*corev1.Pod)
	return pod, ok && pod != nil
}

func isMirror(pod *corev1.Pod) bool {
	_, ok := pod.GetMetadata().GetAnnotations()[mirrorAnnotation]
	return ok
}

func (p *plugin) mutate(ctx context.Context, w *registry.Write) error {
	pod, ok := podWrite(w)
	if !ok || w.Operation != registry.OpCreate || w.Subresource != "" || isMirror(pod) {
		return nil
	}
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	s := pod.Spec
	if s.GetServiceAccountName() == "" {
		s.ServiceAccountName = proto.String(DefaultServiceAccount)
	}
	// serviceAccount is the deprecated spelling, kept equal.
	s.ServiceAccount = proto.String(s.GetServiceAccountName())
	sa, err := p.account(ctx, w.Namespace, s.GetServiceAccountName())
	if err != nil {
		return lookupError(w, s.GetServiceAccountName(), err)
	}
	if automount(sa, s) {
		p.mountToken(s)
	}
	if len(s.GetImagePullSecrets()) == 0 {
		for _, ref := range sa.GetImagePullSecrets() {
			s.ImagePullSecrets = append(s.ImagePullSecrets, &corev1.LocalObjectReference{Name: ref.GetName()})
		}
	}
	return nil
}

func (p *plugin) validate(ctx context.Context, w *registry.Write) error {
	pod, ok := podWrite(w)
	if !ok {
		return nil
	}
	switch {
	case w.Operation == registry.OpUpdate && w.Subresource == "ephemeralcontainers":
		return p.validateEphemeral(ctx, w, pod)
	case w.Operation != registry.OpCreate || w.Subresource != "":
		return nil
	case isMirror(pod):
		return validateMirror(w, pod)
	}
	name := pod.GetSpec().GetServiceAccountName()
	if name == "" {
		return forbidden(w, fmt.Sprintf("no service account specified for pod %s/%s", w.Namespace, pod.GetMetadata().GetName()))
	}
	sa, err := p.account(ctx, w.Namespace, name)
	if err != nil {
		return lookupError(w, name, err)
	}
	if enforcesMountableSecrets(sa) {
		if msg := unlistedSecret(sa, pod.GetSpec()); msg != "" {
			return forbidden(w, msg)
		}
	}
	return nil
}

// validateEphemeral checks the secrets of ephemeral containers being added
// when the pod's account limits them.
func (p *plugin) validateEphemeral(ctx context.Context, w *registry.Write, pod *corev1.Pod) error {
	name := pod.GetSpec().GetServiceAccountName()
	if name == "" {
		return forbidden(w, fmt.Sprintf("no service account specified for pod %s/%s", w.Namespace, pod.GetMetadata().GetName()))
	}
	sa, err := p.account(ctx, w.Namespace, name)
	if err != nil {
		return lookupError(w, name, err)
	}
	if !enforcesMountableSecrets(sa) {
		return nil
	}
	secrets := listedSecrets(sa)
	for _, ec := range pod.GetSpec().GetEphemeralContainers() {
		if msg := unlistedEnvSecret("ephemeral container", ec.GetEphemeralContainerCommon(), secrets, sa.GetMetadata().GetName()); msg != "" {
			return forbidden(w, msg)
		}
	}
	return nil
}

// validateMirror refuses mirror pods that refer to an account, a secret
// or a token: a kubelet could otherwise read what its node has no pod
// for.
func validateMirror(w *registry.Write, pod *corev1.Pod) error {
	s := pod.GetSpec()
	if s.GetServiceAccountName() != "" {
		return forbidden(w, "a mirror pod may not reference service accounts")
	}
	if usesSecrets(s) {
		return forbidden(w, "a mirror pod may not reference secrets")
	}
	for _, v := range s.GetVolumes() {
		for _, src := range v.GetVolumeSource().GetProjected().GetSources() {
			if src.GetServiceAccountToken() != nil {
				return forbidden(w, "a mirror pod may not use ServiceAccountToken volume projections")
			}
		}
	}
	return nil
}

func forbidden(w *registry.Write, why string) error {
	return apierrors.NewForbidden(w.Resource.ErrorResource(), w.Name, why)
}

func lookupError(w *registry.Write, name string, err error) error {
	return forbidden(w, fmt.Sprintf("error looking up service account %s/%s: %v", w.Namespace, name, err))
}

// account reads a service account; the default account is read again for
// a while before it is declared missing. A missing account is Kubernetes'
// `serviceaccount "name" not found`.
func (p *plugin) account(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	attempts := 1
	if name == DefaultServiceAccount {
		attempts = defaultAccountAttempts
	}
	var interval time.Duration
	for i := range attempts {
		if i > 0 {
			if interval == 0 {
				interval = p.retryInterval()
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(interval):
			}
		}
		obj, err := p.accounts.Get(ctx, namespace, name, registry.GetOptions{})
		if err == nil {
			return obj.(*corev1.ServiceAccount), nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, apierrors.NewNotFound(serviceAccountResource, name)
}

// automount: the pod's choice, else its account's, else yes.
func automount(sa *corev1.ServiceAccount, s *corev1.PodSpec) bool {
	if s.AutomountServiceAccountToken != nil {
		return s.GetAutomountServiceAccountToken()
	}
	if sa.AutomountServiceAccountToken != nil {
		return sa.GetAutomountServiceAccountToken()
	}
	return true
}

// mountToken mounts the token volume into every container and init
// container that has nothing at MountPath, adding the volume when one
// does; a volume the pod already has under the prefix is reused.
func (p *plugin) mountToken(s *corev1.PodSpec) {
	name := ""
	if i := slices.IndexFunc(s.GetVolumes(), func(v *corev1.Volume) bool { return strings.HasPrefix(v.GetName(), VolumePrefix) }); i >= 0 {
		name = s.GetVolumes()[i].GetName()
	}
	hasVolume := name != ""
	if !hasVolume {
		name = p.volumeName()
	}
	mounted := false
	for _, c := range append(slices.Clone(s.GetInitContainers()), s.GetContainers()...) {
		if slices.ContainsFunc(c.GetVolumeMounts(), func(m *corev1.VolumeMount) bool { return m.GetMountPath() == MountPath }) {
			continue
		}
		c.VolumeMounts = append(c.VolumeMounts, &corev1.VolumeMount{Name: name, ReadOnly: true, MountPath: MountPath})
		mounted = true
	}
	if mounted && !hasVolume {
		s.Volumes = append(s.Volumes, &corev1.Volume{Name: name, VolumeSource: &corev1.VolumeSource{Projected: TokenVolumeSource()}})
	}
}

// TokenVolumeSource is the projected volume of a pod's API access: a bound
// token of its account, the cluster's CA and its namespace.
func TokenVolumeSource() *corev1.ProjectedVolumeSource {
	return &corev1.ProjectedVolumeSource{
		DefaultMode: proto.Int32(0o644),
		Sources: []*corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: proto.Int64(TokenExpirationSeconds)}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: &corev1.LocalObjectReference{Name: RootCAConfigMap},
				Items:                []*corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardApi: &corev1.DownwardAPIProjection{Items: []*corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
}

func enforcesMountableSecrets(sa *corev1.ServiceAccount) bool {
	v, _ := strconv.ParseBool(sa.GetMetadata().GetAnnotations()[enforceMountableSecrets])
	return v
}

func listedSecrets(sa *corev1.ServiceAccount) map[string]bool {
	out := map[string]bool{}
	for _, ref := range sa.GetSecrets() {
		out[ref.GetName()] = true
	}
	return out
}

// unlistedSecret names, in Kubernetes' words, the first secret the pod
// uses that its account does not list: in a volume, in a container's
// environment, or as an image pull secret.
func unlistedSecret(sa *corev1.ServiceAccount, s *corev1.PodSpec) string {
	secrets, account := listedSecrets(sa), sa.GetMetadata().GetName()
	for _, v := range s.GetVolumes() {
		if sv := v.GetVolumeSource().GetSecret(); sv != nil && !secrets[sv.GetSecretName()] {
			return fmt.Sprintf(`volume with secret.secretName="%s" is not allowed because service account %s does not reference that secret`, sv.GetSecretName(), account)
		}
	}
	for _, c := range s.GetInitContainers() {
		if msg := unlistedEnvSecret("init container", c, secrets, account); msg != "" {
			return msg
		}
	}
	for _, c := range s.GetContainers() {
		if msg := unlistedEnvSecret("container", c, secrets, account); msg != "" {
			return msg
		}
	}
	pull := map[string]bool{}
	for _, ref := range sa.GetImagePullSecrets() {
		pull[ref.GetName()] = true
	}
	for i, ref := range s.GetImagePullSecrets() {
		if !pull[ref.GetName()] {
			return fmt.Sprintf(`imagePullSecrets[%d].name="%s" is not allowed because service account %s does not reference that imagePullSecret`, i, ref.GetName(), account)
		}
	}
	return ""
}

func unlistedEnvSecret(what string, c *corev1.Container, secrets map[string]bool, account string) string {
	for _, e := range c.GetEnv() {
		if ref := e.GetValueFrom().GetSecretKeyRef(); ref != nil && !secrets[ref.GetLocalObjectReference().GetName()] {
			return fmt.Sprintf(`%s %s with envVar %s referencing secret.secretName="%s" is not allowed because service account %s does not reference that secret`,
				what, c.GetName(), e.GetName(), ref.GetLocalObjectReference().GetName(), account)
		}
	}
	for _, e := range c.GetEnvFrom() {
		if ref := e.GetSecretRef(); ref != nil && !secrets[ref.GetLocalObjectReference().GetName()] {
			return fmt.Sprintf(`%s %s with envFrom referencing secret.secretName="%s" is not allowed because service account %s does not reference that secret`,
				what, c.GetName(), ref.GetLocalObjectReference().GetName(), account)
		}
	}
	return ""
}

// usesSecrets tells whether a pod refers to any secret: image pull
// secrets, environment of any container, secret volumes and projections.
func usesSecrets(s *corev1.PodSpec) bool {
	if len(s.GetImagePullSecrets()) > 0 {
		return true
	}
	containers := append(slices.Clone(s.GetInitContainers()), s.GetContainers()...)
	for _, ec := range s.GetEphemeralContainers() {
		containers = append(containers, ec.GetEphemeralContainerCommon())
	}
	for _, c := range containers {
		for _, e := range c.GetEnv() {
			if e.GetValueFrom().GetSecretKeyRef() != nil {
				return true
			}
		}
		for _, e := range c.GetEnvFrom() {
			if e.GetSecretRef() != nil {
				return true
			}
		}
	}
	for _, v := range s.GetVolumes() {
		if v.GetVolumeSource().GetSecret() != nil {
			return true
		}
		for _, src := range v.GetVolumeSource().GetProjected().GetSources() {
			if src.GetSecret() != nil {
				return true
			}
		}
	}
	return false
}
