package pods

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

func TestContainerSecurity(t *testing.T) {
	tests := []struct {
		name           string
		pod            *corev1.PodSecurityContext
		container      *corev1.SecurityContext
		user, group    *int64
		groups         []int64
		hostNet, noNew bool
	}{
		{name: "nothing set: the image's user"},
		{name: "pod level", pod: &corev1.PodSecurityContext{RunAsUser: proto.Int64(1001), RunAsGroup: proto.Int64(2002)},
			user: proto.Int64(1001), group: proto.Int64(2002)},
		{name: "container overrides pod",
			pod:       &corev1.PodSecurityContext{RunAsUser: proto.Int64(1001), RunAsGroup: proto.Int64(2001)},
			container: &corev1.SecurityContext{RunAsUser: proto.Int64(1002), RunAsGroup: proto.Int64(2002)},
			user:      proto.Int64(1002), group: proto.Int64(2002)},
		{name: "container user, pod group",
			pod:       &corev1.PodSecurityContext{RunAsGroup: proto.Int64(2001)},
			container: &corev1.SecurityContext{RunAsUser: proto.Int64(0), AllowPrivilegeEscalation: proto.Bool(false)},
			user:      proto.Int64(0), group: proto.Int64(2001), noNew: true},
		{name: "fsGroup before supplementalGroups",
			pod:    &corev1.PodSecurityContext{FsGroup: proto.Int64(3000), SupplementalGroups: []int64{4000, 5000}},
			groups: []int64{3000, 4000, 5000}},
		{name: "host network", hostNet: true},
	}
	value := func(v *runtimeapi.Int64Value) *int64 {
		if v == nil {
			return nil
		}
		return &v.Value
	}
	same := func(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: &corev1.PodSpec{SecurityContext: tt.pod, HostNetwork: proto.Bool(tt.hostNet)}}
			sc := containerSecurity(pod, &corev1.Container{Name: "c", SecurityContext: tt.container})
			if !same(value(sc.GetRunAsUser()), tt.user) || !same(value(sc.GetRunAsGroup()), tt.group) {
				t.Errorf("runAsUser %v runAsGroup %v, want %v %v", sc.GetRunAsUser(), sc.GetRunAsGroup(), tt.user, tt.group)
			}
			if !slices.Equal(sc.GetSupplementalGroups(), tt.groups) {
				t.Errorf("supplementalGroups %v, want %v", sc.GetSupplementalGroups(), tt.groups)
			}
			if sc.GetNoNewPrivs() != tt.noNew {
				t.Errorf("noNewPrivs %v, want %v", sc.GetNoNewPrivs(), tt.noNew)
			}
			wantNet := runtimeapi.NamespaceMode_POD
			if tt.hostNet {
				wantNet = runtimeapi.NamespaceMode_NODE
			}
			ns := sc.GetNamespaceOptions()
			if ns.GetNetwork() != wantNet || ns.GetPid() != runtimeapi.NamespaceMode_CONTAINER || ns.GetIpc() != runtimeapi.NamespaceMode_POD {
				t.Errorf("namespaces %v, want network %v, pid CONTAINER, ipc POD", ns, wantNet)
			}
			sb := sandboxSecurity(pod)
			if !same(value(sb.GetRunAsUser()), podSecurityContext(pod).RunAsUser) || !slices.Equal(sb.GetSupplementalGroups(), tt.groups) ||
				sb.GetNamespaceOptions().GetNetwork() != wantNet {
				t.Errorf("sandbox %v, want the pod's user %v, groups %v, network %v", sb, tt.pod.GetRunAsUser(), tt.groups, wantNet)
			}
		})
	}
}

func TestSeccompProfile(t *testing.T) {
	profile := func(typ, file string) *corev1.SeccompProfile {
		sp := &corev1.SeccompProfile{Type: typ}
		if file != "" {
			sp.LocalhostProfile = proto.String(file)
		}
		return sp
	}
	tests := []struct {
		name           string
		pod, container *corev1.SeccompProfile
		want           runtimeapi.SecurityProfile_ProfileType
		ref            string
	}{
		{name: "none: unconfined", want: runtimeapi.SecurityProfile_Unconfined},
		{name: "the pod's", pod: profile("RuntimeDefault", ""), want: runtimeapi.SecurityProfile_RuntimeDefault},
		{name: "the container's over the pod's", pod: profile("RuntimeDefault", ""), container: profile("Unconfined", ""),
			want: runtimeapi.SecurityProfile_Unconfined},
		{name: "a file of the node", container: profile("Localhost", "audit.json"),
			want: runtimeapi.SecurityProfile_Localhost, ref: "/var/lib/kubelet/seccomp/audit.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SeccompProfile: tt.pod}}}
			c := &corev1.Container{Name: "c", SecurityContext: &corev1.SecurityContext{SeccompProfile: tt.container}}
			got := seccompProfile(pod, c, "/var/lib/kubelet/seccomp")
			if got.GetProfileType() != tt.want || got.GetLocalhostRef() != tt.ref {
				t.Errorf("got %v, want %v %q", got, tt.want, tt.ref)
			}
		})
	}
}

func TestSandboxPrivileged(t *testing.T) {
	yes := true
	priv := &corev1.Container{Name: "p", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}
	plain := &corev1.Container{Name: "c"}
	for _, tc := range []struct {
		name string
		spec *corev1.PodSpec
		want bool
	}{
		{"no privileged container", &corev1.PodSpec{Containers: []*corev1.Container{plain}}, false},
		{"privileged app container", &corev1.PodSpec{Containers: []*corev1.Container{plain, priv}}, true},
		{"privileged init container", &corev1.PodSpec{InitContainers: []*corev1.Container{priv}, Containers: []*corev1.Container{plain}}, true},
		{"privileged ephemeral container", &corev1.PodSpec{Containers: []*corev1.Container{plain},
			EphemeralContainers: []*corev1.EphemeralContainer{{EphemeralContainerCommon: priv}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sandboxSecurity(&corev1.Pod{Spec: tc.spec}).GetPrivileged()
			if got != tc.want {
				t.Errorf("sandbox privileged = %v, want %v", got, tc.want)
			}
		})
	}
}
