package pods

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func dnsPod(policy string, hostNetwork bool, dc *corev1.PodDNSConfig) *corev1.Pod {
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "shop", Uid: "u1"},
		Spec: &corev1.PodSpec{HostNetwork: proto.Bool(hostNetwork), DnsConfig: dc}}
	if policy != "" {
		pod.Spec.DnsPolicy = proto.String(policy)
	}
	return pod
}

// The --resolv-conf file's failures are told in Kubernetes' texts in
// events and wrapped, naming the flag, in logs.
func TestResolvConfErrorTexts(t *testing.T) {
	dir := t.TempDir()
	missing, bad := filepath.Join(dir, "missing"), filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("nameserver\nnameserver 10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, sandboxEvent, checkEvent string
	}{
		{"missing", missing, "open " + missing + ": no such file or directory", "open " + missing + ": no such file or directory"},
		{"nameserver without address", bad, "Encountered error while parsing resolv conf file. Error: nameserver list is empty ", "nameserver list is empty "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DNS{ResolvConf: tt.file}
			_, _, err := d.podDNS(dnsPod("Default", false, nil))
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if got := eventText(err); got != tt.sandboxEvent {
				t.Errorf("sandbox event text: got %q, want %q", got, tt.sandboxEvent)
			}
			if !strings.Contains(err.Error(), "--resolv-conf") {
				t.Errorf("log text: got %q, want it to name --resolv-conf", err)
			}
			msg, err := d.checkResolvConf()
			if msg != tt.checkEvent || err == nil {
				t.Errorf("check: got %q, %v, want %q and an error", msg, err, tt.checkEvent)
			}
		})
	}
	if got, want := eventText(errors.New("cni failed")), "cni failed"; got != want {
		t.Errorf("another error: got %q, want %q", got, want)
	}
}

func TestFormPodDNS(t *testing.T) {
	host := &runtimeapi.DNSConfig{Servers: []string{"10.89.0.2"}, Searches: []string{"example.com"}, Options: []string{"ndots:0", "edns0"}}
	cluster := DNS{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", ResolvConf: "/resolv.conf"}
	clusterSearch := []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "example.com"}
	podDC := &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{"corp.example", "example.com"},
		Options: []*corev1.PodDNSConfigOption{{Name: "ndots", Value: proto.String("2")}, {Name: "single-request"}, {Name: "attempts", Value: proto.String("")}}}
	long := strings.Repeat("a", 254)
	tests := []struct {
		name    string
		dns     DNS
		pod     *corev1.Pod
		want    *runtimeapi.DNSConfig
		reasons []string
	}{
		{"ClusterFirst", cluster, dnsPod("ClusterFirst", false, nil),
			&runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: clusterSearch, Options: []string{"ndots:5"}}, nil},
		{"unset policy is ClusterFirst", cluster, dnsPod("", false, nil),
			&runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: clusterSearch, Options: []string{"ndots:5"}}, nil},
		{"ClusterFirst on the host network is Default", cluster, dnsPod("ClusterFirst", true, nil), host, nil},
		{"ClusterFirstWithHostNet", cluster, dnsPod("ClusterFirstWithHostNet", true, nil),
			&runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: clusterSearch, Options: []string{"ndots:5"}}, nil},
		{"Default", cluster, dnsPod("Default", false, nil), host, nil},
		{"Default without --resolv-conf", DNS{ClusterDNS: []string{"10.96.0.10"}}, dnsPod("Default", false, nil),
			&runtimeapi.DNSConfig{Servers: []string{"127.0.0.1"}, Searches: []string{"."}}, nil},
		{"None takes only dnsConfig", cluster, dnsPod("None", false, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"},
			Searches: []string{"a.example"}, Options: []*corev1.PodDNSConfigOption{{Name: "ndots", Value: proto.String("1")}}}),
			&runtimeapi.DNSConfig{Servers: []string{"1.1.1.1"}, Searches: []string{"a.example"}, Options: []string{"ndots:1"}}, nil},
		{"None without dnsConfig", cluster, dnsPod("None", false, nil), &runtimeapi.DNSConfig{}, nil},
		{"ClusterFirst without --cluster-dns falls back to Default", DNS{ClusterDomain: "cluster.local", ResolvConf: "/resolv.conf"},
			dnsPod("ClusterFirst", false, nil), host, []string{"MissingClusterDNS"}},
		{"no cluster domain: only the host's search paths", DNS{ClusterDNS: []string{"10.96.0.10"}, ResolvConf: "/resolv.conf"},
			dnsPod("ClusterFirst", false, nil), &runtimeapi.DNSConfig{Servers: []string{"10.96.0.10"}, Searches: []string{"example.com"}, Options: []string{"ndots:5"}}, nil},
		{"ClusterFirst merges dnsConfig", cluster, dnsPod("ClusterFirst", false, podDC),
			&runtimeapi.DNSConfig{Servers: []string{"10.96.0.10", "1.1.1.1"}, Searches: append(clusterSearch, "corp.example"),
				Options: []string{"ndots:2", "single-request", "attempts"}}, nil},
		{"Default merges dnsConfig, the pod's option winning", cluster, dnsPod("Default", false, podDC),
			&runtimeapi.DNSConfig{Servers: []string{"10.89.0.2", "1.1.1.1"}, Searches: []string{"example.com", "corp.example"},
				Options: []string{"ndots:2", "edns0", "single-request", "attempts"}}, nil},
		{"more than 3 nameservers are cut", cluster, dnsPod("ClusterFirst", false, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9"}}),
			&runtimeapi.DNSConfig{Servers: []string{"10.96.0.10", "1.1.1.1", "8.8.8.8"}, Searches: clusterSearch, Options: []string{"ndots:5"}}, []string{"DNSConfigForming"}},
		{"a search path over 253 characters is dropped", cluster, dnsPod("None", false, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1"}, Searches: []string{long, "ok.example"}}),
			&runtimeapi.DNSConfig{Servers: []string{"1.1.1.1"}, Searches: []string{"ok.example"}, Options: []string{}}, []string{"DNSConfigForming"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := proto.Clone(host).(*runtimeapi.DNSConfig)
			got, events := tt.dns.formPodDNS(in, tt.pod)
			if !dnsEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			var reasons []string
			for _, e := range events {
				reasons = append(reasons, e.reason)
			}
			if !reflect.DeepEqual(reasons, tt.reasons) {
				t.Errorf("events %q, want %q", reasons, tt.reasons)
			}
			if !proto.Equal(in, host) {
				t.Errorf("the host configuration changed to %v", in)
			}
		})
	}
}

// dnsEqual compares configurations, an empty list equal to none.
func dnsEqual(a, b *runtimeapi.DNSConfig) bool {
	eq := func(x, y []string) bool { return len(x) == 0 && len(y) == 0 || reflect.DeepEqual(x, y) }
	return eq(a.GetServers(), b.GetServers()) && eq(a.GetSearches(), b.GetSearches()) && eq(a.GetOptions(), b.GetOptions())
}

func TestFitSearches(t *testing.T) {
	var many []string
	for i := range 40 {
		many = append(many, "s"+strings.Repeat("x", 3)+string(rune('a'+i%26)))
	}
	got, cut := fitSearches(many)
	if len(got) != maxDNSSearchPaths || !cut {
		t.Errorf("40 search paths: kept %d (cut %v), want %d and cut", len(got), cut, maxDNSSearchPaths)
	}
	// 20 paths of 199 characters: the line (20*200-1) is over 2048, so
	// paths go from the end until it fits: 10 paths make 1999.
	var wide []string
	for i := range 20 {
		wide = append(wide, strings.Repeat(string(rune('a'+i)), 199))
	}
	got, cut = fitSearches(wide)
	if len(got) != 10 || !cut || !reflect.DeepEqual(got, wide[:10]) {
		t.Errorf("20 paths of 199 characters: kept %d (cut %v), want the first 10 and cut", len(got), cut)
	}
	got, cut = fitSearches([]string{"a.example", "b.example"})
	if cut || len(got) != 2 {
		t.Errorf("two short paths: got %q (cut %v), want both kept", got, cut)
	}
}

func TestDNSLimitMessages(t *testing.T) {
	d := DNS{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"}
	_, events := d.formPodDNS(&runtimeapi.DNSConfig{}, dnsPod("ClusterFirst", false, &corev1.PodDNSConfig{Nameservers: []string{"1.1.1.1", "2.2.2.2", "3.3.3.3"}}))
	want := "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2"
	if len(events) != 1 || events[0].message != want {
		t.Errorf("events %+v, want one with %q", events, want)
	}
	_, events = DNS{}.formPodDNS(&runtimeapi.DNSConfig{}, dnsPod("ClusterFirst", false, nil))
	want = `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`
	if len(events) != 1 || events[0].message != want || !events[0].node {
		t.Errorf("events %+v, want one for the pod and the node with %q", events, want)
	}
}

func TestPodDNSReadsResolvConf(t *testing.T) {
	file := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(file, []byte("nameserver 10.89.0.3\nsearch lab.example\noptions ndots:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := DNS{ResolvConf: file}.podDNS(dnsPod("Default", false, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &runtimeapi.DNSConfig{Servers: []string{"10.89.0.3"}, Searches: []string{"lab.example"}, Options: []string{"ndots:0"}}
	if !proto.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, _, err := (DNS{ResolvConf: file + ".missing"}).podDNS(dnsPod("Default", false, nil)); err == nil {
		t.Error("a missing --resolv-conf: got no error, want one")
	}
}

func TestCheckResolvConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	var paths30 []string
	for i := range 30 {
		paths30 = append(paths30, fmt.Sprintf("d%d.example", i))
	}
	many := write("many", "search "+strings.Join(paths30, " ")+"\n")
	long := write("long", "search "+strings.Repeat("a", 254)+"\n")
	fine := write("fine", "nameserver 10.0.0.1\nsearch a.example b.example\n")
	tests := []struct {
		name string
		dns  DNS
		want string
	}{
		{"fine", DNS{ResolvConf: fine, ClusterDomain: "cluster.local"}, ""},
		{"no file configured", DNS{}, ""},
		{"30 paths leave no room for the cluster's 3", DNS{ResolvConf: many, ClusterDomain: "cluster.local"},
			"Resolv.conf file '" + many + "' contains search line consisting of more than 29 domains!"},
		{"30 paths without a cluster domain", DNS{ResolvConf: many}, ""},
		{"a path over 253 characters", DNS{ResolvConf: long},
			fmt.Sprintf("Resolv.conf file %q contains a search path which length is more than allowed 253 chars!", long)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.dns.checkResolvConf(); got != tt.want || err != nil {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}
