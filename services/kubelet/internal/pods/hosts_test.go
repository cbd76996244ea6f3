package pods

import (
	"os"
	"path/filepath"
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
		{"host network", &corev1.PodSpec{HostNetwork: proto.Bool(true), HostAliases: aliases}, "10.0.0.5",
			"# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\n10.0.0.5\tnode-a\n" +
				"\n# Entries added by HostAliases.\n10.1.2.3\tfoo\tbar\n", "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{cfg: Config{RootDir: dir}}
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: tt.podName, Uid: tt.name}, Spec: tt.spec}
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
