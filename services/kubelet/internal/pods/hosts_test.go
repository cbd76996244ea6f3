package pods

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestWriteHosts(t *testing.T) {
	dir := t.TempDir()
	nodeHostsFile = filepath.Join(dir, "node-hosts")
	t.Cleanup(func() { nodeHostsFile = "/etc/hosts" })
	if err := os.WriteFile(nodeHostsFile, []byte("127.0.0.1\tlocalhost\n10.0.0.5\tnode-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aliases := []*corev1.HostAlias{{Ip: "10.1.2.3", Hostnames: []string{"foo", "bar"}}}
	tests := []struct {
		name    string
		spec    *corev1.PodSpec
		ip      string
		want    string
		podName string
	}{
		{"pod network", &corev1.PodSpec{HostAliases: aliases}, "10.244.0.7",
			"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
				"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
				"10.244.0.7\tweb\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\tbar\n", "web"},
		{"hostname", &corev1.PodSpec{Hostname: proto.String("front")}, "10.244.0.8",
			"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
				"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
				"10.244.0.8\tfront\n", "web"},
		{"hostname and subdomain", &corev1.PodSpec{Hostname: proto.String("web-0"), Subdomain: proto.String("web"), HostAliases: aliases}, "10.244.0.9",
			"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
				"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
				"10.244.0.9\tweb-0.web.shop.svc.cluster.local\tweb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\tbar\n", "web-abc"},
		{"host network", &corev1.PodSpec{HostNetwork: proto.Bool(true), HostAliases: aliases}, "10.0.0.5",
			"# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n10.0.0.5\tnode-a\n" +
				"\n# Entries added by HostAliases.\n10.1.2.3\tfoo\tbar\n", "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{cfg: Config{RootDir: dir, DNS: DNS{ClusterDomain: "cluster.local"}}}
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: tt.podName, Namespace: "shop", Uid: tt.name}, Spec: tt.spec}
			if err := m.writeHosts(pod, tt.ip); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(m.hostsFile(tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestKernelHostname(t *testing.T) {
	name63 := strings.Repeat("n", 62) + "-x"
	tests := []struct {
		name, podName string
		spec          *corev1.PodSpec
		want, err     string
	}{
		{"the pod's name", "web-7d9", &corev1.PodSpec{}, "web-7d9", ""},
		{"spec.hostname", "web-7d9", &corev1.PodSpec{Hostname: proto.String("front")}, "front", ""},
		{"a long name cut to 63 without a trailing dash", name63 + "zz", &corev1.PodSpec{}, strings.Repeat("n", 62), ""},
		{"subdomain without setHostnameAsFQDN", "web-0", &corev1.PodSpec{Subdomain: proto.String("web")}, "web-0", ""},
		{"setHostnameAsFQDN", "web-0", &corev1.PodSpec{Subdomain: proto.String("web"), SetHostnameAsFqdn: proto.Bool(true)}, "web-0.web.shop.svc.cluster.local", ""},
		{"setHostnameAsFQDN without subdomain", "web-0", &corev1.PodSpec{SetHostnameAsFqdn: proto.Bool(true)}, "web-0", ""},
		{"an FQDN over 64 characters", "web-0", &corev1.PodSpec{Hostname: proto.String(strings.Repeat("h", 40)), Subdomain: proto.String("web"), SetHostnameAsFqdn: proto.Bool(true)}, "",
			"failed to construct FQDN from pod hostname and cluster domain, FQDN " + strings.Repeat("h", 40) + ".web.shop.svc.cluster.local is too long (64 characters is the max, 67 characters requested)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: tt.podName, Namespace: "shop"}, Spec: tt.spec}
			got, err := kernelHostname(pod, "cluster.local")
			if got != tt.want || (err == nil) != (tt.err == "") || err != nil && err.Error() != tt.err {
				t.Errorf("got %q, %v; want %q, %q", got, err, tt.want, tt.err)
			}
		})
	}
}
