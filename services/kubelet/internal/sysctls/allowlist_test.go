package sysctls

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

func TestAdmit(t *testing.T) {
	a, err := New([2]int{6, 1}, []string{"kernel.msg*", "net.core.somaxconn"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		sysctls   []string
		hostNet   bool
		hostIPC   bool
		rejection string
	}{
		{name: "none"},
		{name: "safe", sysctls: []string{"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_wmem"}},
		{name: "slashed", sysctls: []string{"net/ipv4/tcp_syncookies"}},
		{name: "allowed unsafe", sysctls: []string{"kernel.msgmax", "net.core.somaxconn"}},
		{name: "unsafe", sysctls: []string{"kernel.shm_rmid_forced", "kernel.sem"}, rejection: `forbidden sysctl: "kernel.sem" not allowlisted`},
		{name: "host network", sysctls: []string{"net.core.somaxconn"}, hostNet: true,
			rejection: `forbidden sysctl: "net.core.somaxconn" not allowed with host Net enabled`},
		{name: "host IPC", sysctls: []string{"kernel.msgmax"}, hostIPC: true,
			rejection: `forbidden sysctl: "kernel.msgmax" not allowed with host IPC enabled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := &corev1.PodSecurityContext{}
			for _, s := range tt.sysctls {
				sc.Sysctls = append(sc.Sysctls, &corev1.Sysctl{Name: s, Value: "1"})
			}
			pod := &corev1.Pod{Spec: &corev1.PodSpec{SecurityContext: sc, HostNetwork: proto.Bool(tt.hostNet), HostIpc: proto.Bool(tt.hostIPC)}}
			if got := a.Admit(pod); got != tt.rejection {
				t.Errorf("got %q, want %q", got, tt.rejection)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		kernel  [2]int
		unsafe  []string
		wantErr string
		safe    string
		allowed bool
	}{
		{kernel: [2]int{4, 14}, safe: "net.ipv4.tcp_rmem", allowed: false},
		{kernel: [2]int{4, 15}, safe: "net.ipv4.tcp_rmem", allowed: true},
		{kernel: [2]int{3, 10}, safe: "net.ipv4.tcp_fin_timeout", allowed: false},
		{unsafe: []string{"vm.swappiness"}, wantErr: `the sysctls "vm.swappiness" are not known to be namespaced`},
		{unsafe: []string{"Kernel.Msg"}, wantErr: `sysctl "Kernel.Msg" must have at most 253 characters`},
	}
	for _, tt := range tests {
		a, err := New(tt.kernel, tt.unsafe)
		if tt.wantErr != "" {
			if err == nil || len(err.Error()) < len(tt.wantErr) || err.Error()[:len(tt.wantErr)] != tt.wantErr {
				t.Errorf("New(%v, %v): got %v, want %s…", tt.kernel, tt.unsafe, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := a.check(tt.safe, false, false) == nil; got != tt.allowed {
			t.Errorf("kernel %v: %s allowed %v, want %v", tt.kernel, tt.safe, got, tt.allowed)
		}
	}
}

func TestParseKernel(t *testing.T) {
	for release, want := range map[string][2]int{"6.1.0-18-amd64": {6, 1}, "4.15.0": {4, 15}, "5.10+": {5, 10}, "garbage": {}} {
		if got := parseKernel(release); got != want {
			t.Errorf("parseKernel(%q) = %v, want %v", release, got, want)
		}
	}
}
