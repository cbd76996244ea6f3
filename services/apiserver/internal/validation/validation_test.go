package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

// want is one error a test expects: its type and path.
type want struct {
	typ  field.ErrorType
	path string
}

// expect checks that errs holds every wanted error, or none when w is
// empty.
func expect(t *testing.T, errs field.ErrorList, w ...want) {
	t.Helper()
	if len(w) == 0 && len(errs) > 0 {
		t.Errorf("got %v, want no errors", errs)
	}
	for _, x := range w {
		found := false
		for _, e := range errs {
			found = found || e.Type == x.typ && e.Field == x.path
		}
		if !found {
			t.Errorf("got %v, want %s at %s", errs, x.typ, x.path)
		}
	}
}

func quantities(kv ...string) map[string]*metav1.Quantity {
	m := map[string]*metav1.Quantity{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &metav1.Quantity{String_: kv[i+1]}
	}
	return m
}

func validPod() *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p", Namespace: "default"}, Spec: &corev1.PodSpec{
		Volumes: []*corev1.Volume{{Name: "data", VolumeSource: &corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		Containers: []*corev1.Container{{Name: "c", Image: "busybox:1.36",
			Ports:        []*corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Env:          []*corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
			VolumeMounts: []*corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
			LivenessProbe: &corev1.Probe{Handler: &corev1.ProbeHandler{HttpGet: &corev1.HTTPGetAction{
				Port: &metav1.IntOrString{Type: 1, StrVal: "http"}}}},
			Resources: &corev1.ResourceRequirements{Limits: quantities("cpu", "1", "memory", "64Mi")}}},
	}}
	defaults.Pod(p)
	return p
}

func TestValidatePod(t *testing.T) {
	expect(t, ValidatePod(validPod()))
	c0 := "spec.containers[0]"
	tests := []struct {
		name   string
		change func(*corev1.Pod)
		want   want
	}{
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, want{field.ErrorTypeRequired, "spec.containers"}},
		{"container name", func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Bad_Name" }, want{field.ErrorTypeInvalid, c0 + ".name"}},
		{"no image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, want{field.ErrorTypeRequired, c0 + ".image"}},
		{"duplicate container", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, proto.Clone(p.Spec.Containers[0]).(*corev1.Container))
		}, want{field.ErrorTypeDuplicate, "spec.containers[1].name"}},
		{"init container named like a container", func(p *corev1.Pod) {
			p.Spec.InitContainers = []*corev1.Container{{Name: "c", Image: "busybox", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"}}
		}, want{field.ErrorTypeDuplicate, "spec.initContainers[0].name"}},
		{"restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = proto.String("Sometimes") },
			want{field.ErrorTypeNotSupported, "spec.restartPolicy"}},
		{"dns policy", func(p *corev1.Pod) { p.Spec.DnsPolicy = proto.String("Google") }, want{field.ErrorTypeNotSupported, "spec.dnsPolicy"}},
		{"dns none without config", func(p *corev1.Pod) { p.Spec.DnsPolicy = proto.String("None") }, want{field.ErrorTypeRequired, "spec.dnsConfig"}},
		{"pull policy", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" },
			want{field.ErrorTypeNotSupported, c0 + ".imagePullPolicy"}},
		{"port number", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			want{field.ErrorTypeInvalid, c0 + ".ports[0].containerPort"}},
		{"port protocol", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "HTTP" },
			want{field.ErrorTypeNotSupported, c0 + ".ports[0].protocol"}},
		{"port name", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "way-too-long-port-name" },
			want{field.ErrorTypeInvalid, c0 + ".ports[0].name"}},
		{"duplicate port name", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, &corev1.ContainerPort{Name: "http", ContainerPort: 9090, Protocol: "TCP"})
		}, want{field.ErrorTypeDuplicate, c0 + ".ports[1].name"}},
		{"env name", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Name = "A=B" }, want{field.ErrorTypeInvalid, c0 + ".env[0].name"}},
		{"env value and source", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].Value = "x" },
			want{field.ErrorTypeInvalid, c0 + ".env[0].valueFrom"}},
		{"env field path", func(p *corev1.Pod) { p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.FieldPath = "spec.hostname" },
			want{field.ErrorTypeNotSupported, c0 + ".env[0].valueFrom.fieldRef.fieldPath"}},
		{"env resource field", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.gpu"}}
		}, want{field.ErrorTypeNotSupported, c0 + ".env[0].valueFrom.resourceFieldRef.resource"}},
		{"cpu divisor", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				Resource: "limits.cpu", Divisor: &metav1.Quantity{String_: "1Mi"}}}
		}, want{field.ErrorTypeInvalid, c0 + ".env[0].valueFrom.resourceFieldRef.divisor"}},
		{"memory divisor", func(p *corev1.Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
				Resource: "requests.memory", Divisor: &metav1.Quantity{String_: "3Mi"}}}
		}, want{field.ErrorTypeInvalid, c0 + ".env[0].valueFrom.resourceFieldRef.divisor"}},
		{"volume resource field without container", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = &corev1.VolumeSource{DownwardApi: &corev1.DownwardAPIVolumeSource{DefaultMode: proto.Int32(0o644),
				Items: []*corev1.DownwardAPIVolumeFile{{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}}}}
		}, want{field.ErrorTypeRequired, "spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName"}},
		{"sysctl name", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []*corev1.Sysctl{{Name: "Net.IPv4", Value: "1"}}}
		}, want{field.ErrorTypeInvalid, "spec.securityContext.sysctls[0].name"}},
		{"sysctl without name", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []*corev1.Sysctl{{Value: "1"}}}
		}, want{field.ErrorTypeRequired, "spec.securityContext.sysctls[0].name"}},
		{"duplicate sysctl", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []*corev1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "kernel.shm_rmid_forced", Value: "0"}}}
		}, want{field.ErrorTypeDuplicate, "spec.securityContext.sysctls[1].name"}},
		{"net sysctl on the host network", func(p *corev1.Pod) {
			p.Spec.HostNetwork = proto.Bool(true)
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []*corev1.Sysctl{{Name: "net.ipv4.tcp_syncookies", Value: "1"}}}
		}, want{field.ErrorTypeInvalid, "spec.securityContext.sysctls[0].name"}},
		{"ipc sysctl with host IPC", func(p *corev1.Pod) {
			p.Spec.HostIpc = proto.Bool(true)
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []*corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
		}, want{field.ErrorTypeInvalid, "spec.securityContext.sysctls[0].name"}},
		{"seccomp type", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "Default"}}
		}, want{field.ErrorTypeNotSupported, "spec.securityContext.seccompProfile.type"}},
		{"seccomp without type", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{}}
		}, want{field.ErrorTypeRequired, c0 + ".securityContext.seccompProfile.type"}},
		{"localhost seccomp without profile", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "Localhost"}}
		}, want{field.ErrorTypeRequired, "spec.securityContext.seccompProfile.localhostProfile"}},
		{"localhost seccomp outside the directory", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "Localhost", LocalhostProfile: proto.String("../etc/x.json")}}
		}, want{field.ErrorTypeInvalid, c0 + ".securityContext.seccompProfile.localhostProfile"}},
		{"seccomp profile of another type", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault", LocalhostProfile: proto.String("x.json")}}
		}, want{field.ErrorTypeInvalid, "spec.securityContext.seccompProfile.localhostProfile"}},
		{"mount of a missing volume", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "nope" },
			want{field.ErrorTypeNotFound, c0 + ".volumeMounts[0].name"}},
		{"mount without path", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" },
			want{field.ErrorTypeRequired, c0 + ".volumeMounts[0].mountPath"}},
		{"bidirectional propagation, unprivileged", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts[0].MountPropagation = proto.String("Bidirectional")
		},
			want{field.ErrorTypeForbidden, c0 + ".volumeMounts[0].mountPropagation"}},
		{"unknown propagation", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPropagation = proto.String("Shared") },
			want{field.ErrorTypeNotSupported, c0 + ".volumeMounts[0].mountPropagation"}},
		{"requests over limits", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests["cpu"].String_ = "2" },
			want{field.ErrorTypeInvalid, c0 + ".resources.requests"}},
		{"bad quantity", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits["memory"].String_ = "lots" },
			want{field.ErrorTypeInvalid, c0 + ".resources.limits[memory]"}},
		{"unknown resource", func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits["gpu"] = &metav1.Quantity{String_: "1"} },
			want{field.ErrorTypeInvalid, c0 + ".resources.limits[gpu]"}},
		{"probe without handler", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.Handler = nil },
			want{field.ErrorTypeRequired, c0 + ".livenessProbe"}},
		{"probe with two handlers", func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe.Handler.Exec = &corev1.ExecAction{Command: []string{"true"}}
		}, want{field.ErrorTypeForbidden, c0 + ".livenessProbe.httpGet"}},
		{"liveness success threshold", func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2 },
			want{field.ErrorTypeInvalid, c0 + ".livenessProbe.successThreshold"}},
		{"volume name", func(p *corev1.Pod) { p.Spec.Volumes[0].Name = "Data" }, want{field.ErrorTypeInvalid, "spec.volumes[0].name"}},
		{"duplicate volume", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) },
			want{field.ErrorTypeDuplicate, "spec.volumes[1].name"}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource.HostPath = &corev1.HostPathVolumeSource{Path: "/tmp"}
		}, want{field.ErrorTypeForbidden, "spec.volumes[0].emptyDir"}},
		{"secret volume without name", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = &corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: proto.Int32(0o644)}}
		}, want{field.ErrorTypeRequired, "spec.volumes[0].secret.secretName"}},
		{"negative grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = proto.Int64(-1) },
			want{field.ErrorTypeInvalid, "spec.terminationGracePeriodSeconds"}},
		{"node selector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"a b": "c"} },
			want{field.ErrorTypeInvalid, "spec.nodeSelector"}},
		{"toleration effect", func(p *corev1.Pod) { p.Spec.Tolerations[0].Effect = "Sometimes" },
			want{field.ErrorTypeNotSupported, "spec.tolerations[0].effect"}},
		{"init container probe", func(p *corev1.Pod) {
			p.Spec.InitContainers = []*corev1.Container{{Name: "i", Image: "busybox", ImagePullPolicy: "Always",
				TerminationMessagePolicy: "File", ReadinessProbe: p.Spec.Containers[0].LivenessProbe}}
		}, want{field.ErrorTypeForbidden, "spec.initContainers[0].readinessProbe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPod()
			tt.change(p)
			expect(t, ValidatePod(p), tt.want)
		})
	}
}

func TestRequestOverLimitMessage(t *testing.T) {
	p := validPod()
	p.Spec.Containers[0].Resources.Requests["cpu"].String_ = "2"
	got := ValidatePod(p).Error()
	wantMsg := `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`
	if got != wantMsg {
		t.Errorf("got %q, want %q", got, wantMsg)
	}
}

func TestValidatePodUpdate(t *testing.T) {
	bound := validPod()
	bound.Spec.NodeName = proto.String("node-1")
	tests := []struct {
		name   string
		old    *corev1.Pod
		change func(*corev1.Pod)
		want   []want
	}{
		{"image", bound, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "busybox:1.37" }, nil},
		{"shorter deadline", bound, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = proto.Int64(60) }, nil},
		{"added toleration", bound, func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, &corev1.Toleration{Key: "k", Operator: "Exists"})
		}, nil},
		{"first binding", validPod(), func(p *corev1.Pod) { p.Spec.NodeName = proto.String("node-1") }, nil},
		{"stored before newer defaults", &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox"}}}},
			func(p *corev1.Pod) { defaults.Pod(p) }, nil},
		{"node name", bound, func(p *corev1.Pod) { p.Spec.NodeName = proto.String("node-2") },
			[]want{{field.ErrorTypeForbidden, "spec"}}},
		{"container name", bound, func(p *corev1.Pod) { p.Spec.Containers[0].Name = "other" },
			[]want{{field.ErrorTypeForbidden, "spec"}}},
		{"container added", bound, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: "d", Image: "busybox"})
		}, []want{{field.ErrorTypeForbidden, "spec.containers"}}},
		{"removed toleration", bound, func(p *corev1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[1:] },
			[]want{{field.ErrorTypeForbidden, "spec.tolerations"}}},
		{"image removed", bound, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			[]want{{field.ErrorTypeRequired, "spec.containers[0].image"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proto.Clone(tt.old).(*corev1.Pod)
			tt.change(p)
			errs := ValidatePodUpdate(p, tt.old)
			expect(t, errs, tt.want...)
			for _, e := range errs {
				if e.Field == "spec" && !strings.HasPrefix(e.Detail, "pod updates may not change fields other than `spec.containers[*].image`") {
					t.Errorf("got detail %q, want Kubernetes' message", e.Detail)
				}
			}
		})
	}
}

// TestResourceFieldRefsAccepted: the downward API's requests and limits
// with Kubernetes' divisors pass, in the environment without a container
// name and in volumes with one.
func TestResourceFieldRefsAccepted(t *testing.T) {
	tests := []struct{ resource, divisor string }{
		{"limits.cpu", ""}, {"requests.cpu", "1m"}, {"limits.cpu", "1"}, {"limits.memory", "1Mi"},
		{"requests.memory", "1k"}, {"limits.ephemeral-storage", "1Gi"}, {"requests.ephemeral-storage", "1"},
		{"limits.cpu", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.resource+"/"+tt.divisor, func(t *testing.T) {
			ref := func(container string) *corev1.ResourceFieldSelector {
				r := &corev1.ResourceFieldSelector{ContainerName: container, Resource: tt.resource}
				if tt.divisor != "" {
					r.Divisor = &metav1.Quantity{String_: tt.divisor}
				}
				return r
			}
			p := validPod()
			p.Spec.Containers[0].Env[0].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: ref("")}
			p.Spec.Volumes = append(p.Spec.Volumes, &corev1.Volume{Name: "info", VolumeSource: &corev1.VolumeSource{
				DownwardApi: &corev1.DownwardAPIVolumeSource{DefaultMode: proto.Int32(0o644),
					Items: []*corev1.DownwardAPIVolumeFile{{Path: "value", ResourceFieldRef: ref("c")}}}}})
			expect(t, ValidatePod(p))
		})
	}
}

// TestSysctlsAccepted: namespaced and unknown sysctls with valid names pass
// (the kubelet decides which it allows), in dotted and slashed form.
func TestSysctlsAccepted(t *testing.T) {
	p := validPod()
	p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []*corev1.Sysctl{
		{Name: "kernel.shm_rmid_forced", Value: "0"}, {Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"},
		{Name: "net/ipv4/conf/eth0.100/rp_filter", Value: "1"}, {Name: "kernel.msgmax", Value: "10000"}, {Name: "vm.swappiness", Value: "1"},
	}}
	expect(t, ValidatePod(p))
}

func TestMountPropagationAccepted(t *testing.T) {
	for _, mode := range []string{"None", "HostToContainer", "Bidirectional"} {
		t.Run(mode, func(t *testing.T) {
			p := validPod()
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: proto.Bool(true)}
			p.Spec.Containers[0].VolumeMounts[0].MountPropagation = proto.String(mode)
			expect(t, ValidatePod(p))
		})
	}
}
