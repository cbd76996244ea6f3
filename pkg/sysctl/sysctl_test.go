package sysctl

import "testing"

func TestNamespaceOf(t *testing.T) {
	tests := []struct {
		sysctl, name string
		ns           Namespace
		prefixed     bool
	}{
		{"kernel.shm_rmid_forced", "kernel.shm_rmid_forced", IPC, false},
		{"kernel.msg*", "kernel.msg", IPC, true},
		{"net.ipv4.ip_local_port_range", "net.ipv4.ip_local_port_range", Net, false},
		{"net/ipv4/conf/eno2.100/rp_filter", "net.ipv4.conf.eno2/100.rp_filter", Net, false},
		{"net.ipv6.neigh.*", "net.ipv6.neigh.", Net, true},
		{"fs.mqueue.msg_max", "fs.mqueue.msg_max", IPC, false},
		{"kernel.hostname", "kernel.hostname", Unknown, false},
		{"vm.swappiness", "vm.swappiness", Unknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.sysctl, func(t *testing.T) {
			ns, name, prefixed := NamespaceOf(tt.sysctl)
			if ns != tt.ns || name != tt.name || prefixed != tt.prefixed {
				t.Errorf("got %q, %q, %v; want %q, %q, %v", ns, name, prefixed, tt.ns, tt.name, tt.prefixed)
			}
		})
	}
}
