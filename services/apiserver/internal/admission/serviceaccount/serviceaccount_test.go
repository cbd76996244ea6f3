package serviceaccount

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

var podsRes = &registry.Resource{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true}

// accounts is a serviceaccounts backend that can only get, and counts
// its gets.
type accounts struct {
	registry.Backend
	mu     sync.Mutex
	byName map[string]*corev1.ServiceAccount
	gets   int
}

func (a *accounts) Get(_ context.Context, namespace, name string, _ registry.GetOptions) (proto.Message, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gets++
	sa, ok := a.byName[namespace+"/"+name]
	if !ok {
		return nil, apierrors.NewNotFound(apierrors.Resource{Resource: "serviceaccounts"}, name)
	}
	return proto.Clone(sa), nil
}

func account(name string, change func(*corev1.ServiceAccount)) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	if change != nil {
		change(sa)
	}
	return sa
}

func newTestPlugin(sas ...*corev1.ServiceAccount) (*plugin, *accounts) {
	a := &accounts{byName: map[string]*corev1.ServiceAccount{}}
	for _, sa := range sas {
		a.byName[sa.GetMetadata().GetNamespace()+"/"+sa.GetMetadata().GetName()] = sa
	}
	p := newPlugin(a)
	p.volumeName = func() string { return "kube-api-access-x7k2q" }
	p.retryInterval = func() time.Duration { return time.Millisecond }
	return p, a
}

func pod(change func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: &corev1.PodSpec{
		InitContainers: []*corev1.Container{{Name: "setup", Image: "i"}},
		Containers:     []*corev1.Container{{Name: "c", Image: "i"}, {Name: "d", Image: "i"}},
	}}
	if change != nil {
		change(p.Spec)
	}
	return p
}

// admit runs the plugin's two halves on a pod create, as the chain does.
func admit(p *plugin, obj *corev1.Pod) error {
	w := &registry.Write{Operation: registry.OpCreate, Resource: podsRes, Namespace: "ns", Name: "p", Object: obj}
	if err := p.mutate(context.Background(), w); err != nil {
		return err
	}
	return p.validate(context.Background(), w)
}

func TestMountsTheTokenVolume(t *testing.T) {
	p, _ := newTestPlugin(account("default", nil))
	got := pod(nil)
	if err := admit(p, got); err != nil {
		t.Fatal(err)
	}
	mount := &corev1.VolumeMount{Name: "kube-api-access-x7k2q", ReadOnly: true, MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}
	want := pod(func(s *corev1.PodSpec) {
		s.ServiceAccountName = proto.String("default")
		s.ServiceAccount = proto.String("default")
		for _, c := range append(s.InitContainers, s.Containers...) {
			c.VolumeMounts = []*corev1.VolumeMount{mount}
		}
		s.Volumes = []*corev1.Volume{{Name: "kube-api-access-x7k2q", VolumeSource: &corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: proto.Int32(420),
			Sources: []*corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: proto.Int64(3607)}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: &corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
					Items: []*corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
				{DownwardApi: &corev1.DownwardAPIProjection{Items: []*corev1.DownwardAPIVolumeFile{{Path: "namespace",
					FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.namespace"}}}}},
			},
		}}}}
	})
	if !proto.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", prototext.Format(got), prototext.Format(want))
	}
}

func TestAutomount(t *testing.T) {
	off := func(sa *corev1.ServiceAccount) { sa.AutomountServiceAccountToken = proto.Bool(false) }
	on := func(sa *corev1.ServiceAccount) { sa.AutomountServiceAccountToken = proto.Bool(true) }
	tests := []struct {
		name      string
		sa        *corev1.ServiceAccount
		pod       *corev1.Pod
		volumes   int
		mountedIn []string // containers that mount the token
	}{
		{"account says no", account("default", off), pod(nil), 0, nil},
		{"pod says no", account("default", on), pod(func(s *corev1.PodSpec) { s.AutomountServiceAccountToken = proto.Bool(false) }), 0, nil},
		{"pod says yes over its account", account("default", off), pod(func(s *corev1.PodSpec) { s.AutomountServiceAccountToken = proto.Bool(true) }),
			1, []string{"setup", "c", "d"}},
		{"a container mounts something there already", account("default", nil), pod(func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "own", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			s.Containers[0].VolumeMounts = []*corev1.VolumeMount{{Name: "own", MountPath: MountPath}}
		}), 2, []string{"setup", "d"}},
		{"every container mounts something there", account("default", nil), pod(func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "own", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			for _, c := range append(s.InitContainers, s.Containers...) {
				c.VolumeMounts = []*corev1.VolumeMount{{Name: "own", MountPath: MountPath}}
			}
		}), 1, nil},
		{"an existing token volume is used", account("default", nil), pod(func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "kube-api-access-mine", VolumeSource: &corev1.VolumeSource{Projected: TokenVolumeSource()}}}
		}), 1, []string{"setup", "c", "d"}},
		{"ephemeral containers are left alone", account("default", nil), pod(func(s *corev1.PodSpec) {
			s.EphemeralContainers = []*corev1.EphemeralContainer{{EphemeralContainerCommon: &corev1.Container{Name: "debug", Image: "i"}}}
		}), 1, []string{"setup", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestPlugin(tt.sa)
			if err := admit(p, tt.pod); err != nil {
				t.Fatal(err)
			}
			s := tt.pod.GetSpec()
			if len(s.GetVolumes()) != tt.volumes {
				t.Errorf("volumes %v, want %d", s.GetVolumes(), tt.volumes)
			}
			var mounted []string
			containers := append(append([]*corev1.Container{}, s.GetInitContainers()...), s.GetContainers()...)
			for _, ec := range s.GetEphemeralContainers() {
				containers = append(containers, ec.GetEphemeralContainerCommon())
			}
			for _, c := range containers {
				for _, m := range c.GetVolumeMounts() {
					if strings.HasPrefix(m.GetName(), VolumePrefix) {
						mounted = append(mounted, c.GetName())
						if !m.GetReadOnly() || m.GetMountPath() != MountPath {
							t.Errorf("container %s: mount %v", c.GetName(), m)
						}
					}
				}
			}
			if strings.Join(mounted, ",") != strings.Join(tt.mountedIn, ",") {
				t.Errorf("mounted in %v, want %v", mounted, tt.mountedIn)
			}
		})
	}
}

func TestServiceAccountLookup(t *testing.T) {
	p, gets := newTestPlugin(account("robot", func(sa *corev1.ServiceAccount) {
		sa.ImagePullSecrets = []*corev1.LocalObjectReference{{Name: "registry"}}
	}))
	err := admit(p, pod(func(s *corev1.PodSpec) { s.ServiceAccountName = proto.String("ghost") }))
	const ghost = `pods "p" is forbidden: error looking up service account ns/ghost: serviceaccount "ghost" not found`
	if err == nil || err.Error() != ghost || apierrors.ReasonOf(err) != apierrors.ReasonForbidden {
		t.Errorf("got %v, want %s", err, ghost)
	}
	if gets.gets != 1 {
		t.Errorf("a named account was read %d times, want once", gets.gets)
	}
	gets.gets = 0
	err = admit(p, pod(nil))
	const missingDefault = `pods "p" is forbidden: error looking up service account ns/default: serviceaccount "default" not found`
	if err == nil || err.Error() != missingDefault {
		t.Errorf("got %v, want %s", err, missingDefault)
	}
	if gets.gets != defaultAccountAttempts {
		t.Errorf("the default account was read %d times, want %d", gets.gets, defaultAccountAttempts)
	}
	// The default account may appear while the plugin waits for it.
	go func() {
		time.Sleep(3 * time.Millisecond)
		gets.mu.Lock()
		gets.byName["ns/default"] = account("default", nil)
		gets.mu.Unlock()
	}()
	if err := admit(p, pod(nil)); err != nil {
		t.Errorf("the default account, created late: %v", err)
	}
	// The account's pull secrets go to pods without their own.
	robot := pod(func(s *corev1.PodSpec) { s.ServiceAccountName = proto.String("robot") })
	if err := admit(p, robot); err != nil {
		t.Fatal(err)
	}
	if ps := robot.GetSpec().GetImagePullSecrets(); len(ps) != 1 || ps[0].GetName() != "registry" {
		t.Errorf("imagePullSecrets %v, want registry", ps)
	}
	own := pod(func(s *corev1.PodSpec) {
		s.ServiceAccountName = proto.String("robot")
		s.ImagePullSecrets = []*corev1.LocalObjectReference{{Name: "mine"}}
	})
	if err := admit(p, own); err != nil {
		t.Fatal(err)
	}
	if ps := own.GetSpec().GetImagePullSecrets(); len(ps) != 1 || ps[0].GetName() != "mine" {
		t.Errorf("imagePullSecrets %v, want mine", ps)
	}
}

func TestMirrorPods(t *testing.T) {
	p, gets := newTestPlugin()
	mirror := func(change func(*corev1.PodSpec)) *corev1.Pod {
		m := pod(change)
		m.Metadata.Annotations = map[string]string{"kubernetes.io/config.mirror": "hash"}
		return m
	}
	plain := mirror(nil)
	if err := admit(p, plain); err != nil {
		t.Fatalf("a plain mirror pod was refused: %v", err)
	}
	if plain.GetSpec().ServiceAccountName != nil || len(plain.GetSpec().GetVolumes()) > 0 || gets.gets > 0 {
		t.Errorf("a mirror pod was changed: %v (%d gets)", prototext.Format(plain), gets.gets)
	}
	for _, tt := range []struct {
		change func(*corev1.PodSpec)
		want   string
	}{
		{func(s *corev1.PodSpec) { s.ServiceAccountName = proto.String("default") }, "a mirror pod may not reference service accounts"},
		{func(s *corev1.PodSpec) {
			s.Containers[0].EnvFrom = []*corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: &corev1.LocalObjectReference{Name: "s"}}}}
		}, "a mirror pod may not reference secrets"},
		{func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "t", VolumeSource: &corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []*corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}}}
		}, "a mirror pod may not use ServiceAccountToken volume projections"},
	} {
		err := admit(p, mirror(tt.change))
		if err == nil || err.Error() != `pods "p" is forbidden: `+tt.want {
			t.Errorf("got %v, want %s", err, tt.want)
		}
	}
}

func TestMountableSecrets(t *testing.T) {
	p, _ := newTestPlugin(account("locked", func(sa *corev1.ServiceAccount) {
		sa.Metadata.Annotations = map[string]string{"kubernetes.io/enforce-mountable-secrets": "true"}
		sa.Secrets = []*corev1.ObjectReference{{Name: "allowed"}}
		sa.ImagePullSecrets = []*corev1.LocalObjectReference{{Name: "pull"}}
	}), account("open", nil))
	secretVolume := func(name string) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) {
			s.Volumes = []*corev1.Volume{{Name: "v", VolumeSource: &corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}}
		}
	}
	tests := []struct {
		name, account string
		change        func(*corev1.PodSpec)
		want          string
	}{
		{"listed", "locked", secretVolume("allowed"), ""},
		{"not enforced", "open", secretVolume("other"), ""},
		{"volume", "locked", secretVolume("other"),
			`volume with secret.secretName="other" is not allowed because service account locked does not reference that secret`},
		{"env", "locked", func(s *corev1.PodSpec) {
			s.Containers[1].Env = []*corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: &corev1.LocalObjectReference{Name: "other"}, Key: "pw"}}}}
		}, `container d with envVar PW referencing secret.secretName="other" is not allowed because service account locked does not reference that secret`},
		{"init envFrom", "locked", func(s *corev1.PodSpec) {
			s.InitContainers[0].EnvFrom = []*corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: &corev1.LocalObjectReference{Name: "other"}}}}
		}, `init container setup with envFrom referencing secret.secretName="other" is not allowed because service account locked does not reference that secret`},
		{"pull secret", "locked", func(s *corev1.PodSpec) {
			s.ImagePullSecrets = []*corev1.LocalObjectReference{{Name: "pull"}, {Name: "other"}}
		}, `imagePullSecrets[1].name="other" is not allowed because service account locked does not reference that imagePullSecret`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := admit(p, pod(func(s *corev1.PodSpec) {
				s.ServiceAccountName = proto.String(tt.account)
				tt.change(s)
			}))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || err.Error() != `pods "p" is forbidden: `+tt.want):
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
	// Ephemeral containers added later are held to the same list.
	debug := pod(func(s *corev1.PodSpec) {
		s.ServiceAccountName = proto.String("locked")
		s.EphemeralContainers = []*corev1.EphemeralContainer{{EphemeralContainerCommon: &corev1.Container{Name: "debug", Image: "i",
			EnvFrom: []*corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: &corev1.LocalObjectReference{Name: "other"}}}}}}}
	})
	err := p.validate(context.Background(), &registry.Write{Operation: registry.OpUpdate, Subresource: "ephemeralcontainers",
		Resource: podsRes, Namespace: "ns", Name: "p", Object: debug, Old: pod(nil)})
	const want = `pods "p" is forbidden: ephemeral container debug with envFrom referencing secret.secretName="other" is not allowed because service account locked does not reference that secret`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestOtherWritesPass(t *testing.T) {
	p, gets := newTestPlugin()
	for _, w := range []*registry.Write{
		{Operation: registry.OpUpdate, Resource: podsRes, Namespace: "ns", Name: "p", Object: pod(nil), Old: pod(nil)},
		{Operation: registry.OpUpdate, Subresource: "status", Resource: podsRes, Namespace: "ns", Name: "p", Object: pod(nil), Old: pod(nil)},
		{Operation: registry.OpDelete, Resource: podsRes, Namespace: "ns", Name: "p", Old: pod(nil)},
		{Operation: registry.OpCreate, Resource: &registry.Resource{Version: "v1", Plural: "configmaps", Kind: "ConfigMap"}, Namespace: "ns", Name: "c",
			Object: &corev1.ConfigMap{}},
	} {
		if err := p.mutate(context.Background(), w); err != nil {
			t.Errorf("%s %s/%s: %v", w.Operation, w.Resource.Plural, w.Subresource, err)
		}
		if err := p.validate(context.Background(), w); err != nil {
			t.Errorf("%s %s/%s: %v", w.Operation, w.Resource.Plural, w.Subresource, err)
		}
	}
	if gets.gets > 0 {
		t.Errorf("%d gets, want none", gets.gets)
	}
}
