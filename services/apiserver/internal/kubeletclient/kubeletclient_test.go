package kubeletclient

import (
	"errors"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func node(port int32, addrs ...string) *corev1.Node {
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1"}, Status: &corev1.NodeStatus{
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: port}}}}
	for i := 0; i+1 < len(addrs); i += 2 {
		n.Status.Addresses = append(n.Status.Addresses, &corev1.NodeAddress{Type: addrs[i], Address: addrs[i+1]})
	}
	return n
}

func TestLocation(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		node    *corev1.Node
		want    string
		wantErr bool
	}{
		{name: "internal IP first", node: node(10250, "Hostname", "n1", "InternalIP", "10.0.0.5"), want: "https://10.0.0.5:10250"},
		{name: "IPv6", node: node(10250, "InternalIP", "fd00::5"), want: "https://[fd00::5]:10250"},
		{name: "hostname as a last resort", node: node(11000, "Hostname", "n1"), want: "https://n1:11000"},
		{name: "no port", node: node(0, "InternalIP", "10.0.0.5"), wantErr: true},
		{name: "no address", node: node(10250), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, rt, err := c.Location(tc.node)
			if tc.wantErr {
				if !errors.Is(err, ErrNoAddress) {
					t.Fatalf("got %v, want ErrNoAddress", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != tc.want || rt == nil {
				t.Errorf("got %s (transport %v), want %s", u, rt != nil, tc.want)
			}
		})
	}
}
