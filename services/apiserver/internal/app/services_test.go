package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/services/apiserver/internal/kubernetesservice"
)

// cause is the field of the first cause of a Status.
func cause(body map[string]any) string {
	causes, _ := dig(body, "details", "causes").([]any)
	if len(causes) == 0 {
		return ""
	}
	f, _ := dig(causes[0].(map[string]any), "field").(string)
	return f
}

func svcJSON(name, typ, clusterIP string, nodePort int) string {
	ip := ""
	if clusterIP != "" {
		ip = fmt.Sprintf(`"clusterIP":%q,`, clusterIP)
	}
	np := ""
	if nodePort != 0 {
		np = fmt.Sprintf(`,"nodePort":%d`, nodePort)
	}
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":%q},"spec":{"type":%q,%s"ports":[{"port":80%s}]}}`, name, typ, ip, np)
}

// TestServiceAllocation: cluster IPs and node ports are allocated on
// create, refused when taken or out of range, and freed by delete and by
// a type change.
func TestServiceAllocation(t *testing.T) {
	s := startServer(t)
	const base = "/api/v1/namespaces/default/services"
	_, cidr, _ := net.ParseCIDR("10.96.0.0/12")

	// The kubernetes Service.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := s.do("GET", base+"/kubernetes", s.adminToken, "")
		if code == http.StatusOK {
			if ip := dig(body, "spec", "clusterIP"); ip != "10.96.0.1" {
				t.Errorf("kubernetes service: clusterIP %v, want 10.96.0.1", ip)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no kubernetes service: %d %v", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if kubernetesservice.AdvertisedAddress("", "127.0.0.1") != nil {
		for _, path := range []string{"/api/v1/namespaces/default/endpoints/kubernetes", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"} {
			for {
				code, body := s.do("GET", path, s.adminToken, "")
				if code == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s: %d %v", path, code, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}

	code, body := s.do("POST", base, s.adminToken, svcJSON("web", "ClusterIP", "", 0))
	webIP, _ := dig(body, "spec", "clusterIP").(string)
	if code != http.StatusCreated || !cidr.Contains(net.ParseIP(webIP)) || webIP == "10.96.0.1" {
		t.Fatalf("create web: %d clusterIP %q, want an address of 10.96.0.0/12 other than .1", code, webIP)
	}
	if ips := fmt.Sprint(dig(body, "spec", "clusterIPs")); ips != "["+webIP+"]" {
		t.Errorf("clusterIPs %s, want [%s]", ips, webIP)
	}
	code, body = s.do("POST", base, s.adminToken, svcJSON("np", "NodePort", "", 0))
	ports, _ := dig(body, "spec", "ports").([]any)
	np, _ := dig(ports[0].(map[string]any), "nodePort").(float64)
	if code != http.StatusCreated || np < 30000 || np > 32767 {
		t.Fatalf("create np: %d nodePort %v, want one of 30000-32767", code, np)
	}

	for _, tc := range []struct {
		name, body string
		code       int
		field      string
	}{
		{"same IP", svcJSON("same-ip", "ClusterIP", webIP, 0), 422, "spec.clusterIP"},
		{"IP out of range", svcJSON("far", "ClusterIP", "10.0.0.10", 0), 422, "spec.clusterIP"},
		{"same node port", svcJSON("same-port", "NodePort", "", int(np)), 422, "spec.ports[0].nodePort"},
		{"port out of range", svcJSON("low-port", "NodePort", "", 8080), 422, "spec.ports[0].nodePort"},
		{"headless", `{"metadata":{"name":"headless"},"spec":{"clusterIP":"None","selector":{"a":"b"},"ports":[{"port":80}]}}`, 201, ""},
		{"external name", `{"metadata":{"name":"ext"},"spec":{"type":"ExternalName","externalName":"example.com"}}`, 201, ""},
	} {
		code, body := s.do("POST", base, s.adminToken, tc.body)
		if code != tc.code || cause(body) != tc.field {
			t.Errorf("%s: got %d %q (%v), want %d %q", tc.name, code, cause(body), dig(body, "message"), tc.code, tc.field)
		}
		if tc.code == 201 && tc.name == "headless" && dig(body, "spec", "clusterIP") != "None" {
			t.Errorf("headless: clusterIP %v, want None", dig(body, "spec", "clusterIP"))
		}
		if tc.code == 201 && tc.name == "external name" && dig(body, "spec", "clusterIP") != nil {
			t.Errorf("external name: clusterIP %v, want none", dig(body, "spec", "clusterIP"))
		}
	}

	// A dry run takes nothing; it still refuses a taken address.
	if code, _ := s.do("POST", base+"?dryRun=All", s.adminToken, svcJSON("dry", "ClusterIP", "10.96.0.200", 0)); code != 201 {
		t.Errorf("dry-run create: %d, want 201", code)
	}
	if code, body := s.do("POST", base+"?dryRun=All", s.adminToken, svcJSON("dry", "ClusterIP", webIP, 0)); code != 422 || cause(body) != "spec.clusterIP" {
		t.Errorf("dry-run create with a taken IP: %d %v, want 422", code, body)
	}
	if code, _ := s.do("POST", base, s.adminToken, svcJSON("after-dry", "ClusterIP", "10.96.0.200", 0)); code != 201 {
		t.Errorf("create with the dry run's IP: %d, want 201", code)
	}

	// Delete frees the address.
	if code, _ := s.do("DELETE", base+"/web", s.adminToken, ""); code != 200 {
		t.Fatalf("delete web: %d", code)
	}
	if code, body := s.do("POST", base, s.adminToken, svcJSON("reuse", "ClusterIP", webIP, 0)); code != 201 {
		t.Errorf("create with the freed IP %s: %d %v", webIP, code, dig(body, "message"))
	}

	// A Service held by a finalizer keeps its address until the finalizer
	// goes.
	held := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"held","finalizers":["example.com/hold"]},"spec":{"ports":[{"port":80}]}}`
	code, body = s.do("POST", base, s.adminToken, held)
	heldIP, _ := dig(body, "spec", "clusterIP").(string)
	if code != 201 || heldIP == "" {
		t.Fatalf("create held: %d %v", code, dig(body, "message"))
	}
	if code, _ := s.do("DELETE", base+"/held", s.adminToken, ""); code != 200 {
		t.Fatalf("delete held: %d", code)
	}
	if code, _ := s.do("POST", base, s.adminToken, svcJSON("too-early", "ClusterIP", heldIP, 0)); code != 422 {
		t.Errorf("the address of a Service held by a finalizer was handed out again: %d", code)
	}
	if code, body := s.patch(base+"/held", `{"metadata":{"finalizers":null}}`); code != 200 {
		t.Fatalf("remove the finalizer: %d %v", code, dig(body, "message"))
	}
	if code, body := s.do("POST", base, s.adminToken, svcJSON("after-finalizer", "ClusterIP", heldIP, 0)); code != 201 {
		t.Errorf("create with the address freed by the last finalizer %s: %d %v", heldIP, code, dig(body, "message"))
	}

	// NodePort -> ClusterIP frees the port; ExternalName -> ClusterIP allocates.
	code, body = s.patch(base+"/np", `{"spec":{"type":"ClusterIP"}}`)
	if code != 200 || dig(body, "spec", "externalTrafficPolicy") != nil {
		t.Fatalf("patch np to ClusterIP: %d %v", code, dig(body, "message"))
	}
	if ports, _ := dig(body, "spec", "ports").([]any); dig(ports[0].(map[string]any), "nodePort") != nil {
		t.Errorf("np kept its node port after becoming ClusterIP: %v", ports)
	}
	if code, body := s.do("POST", base, s.adminToken, svcJSON("port-reuse", "NodePort", "", int(np))); code != 201 {
		t.Errorf("create with the freed node port %v: %d %v", np, code, dig(body, "message"))
	}
	code, body = s.patch(base+"/ext", `{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"port":80}]}}`)
	if ip, _ := dig(body, "spec", "clusterIP").(string); code != 200 || !cidr.Contains(net.ParseIP(ip)) {
		t.Errorf("patch ext to ClusterIP: %d clusterIP %q (%v)", code, ip, dig(body, "message"))
	}
	code, body = s.patch(base+"/np", `{"spec":{"type":"NodePort"}}`)
	if ports, _ := dig(body, "spec", "ports").([]any); code != 200 || dig(ports[0].(map[string]any), "nodePort") == nil {
		t.Errorf("patch np back to NodePort: %d %v", code, dig(body, "message"))
	}
}

// patch sends a merge patch.
func (s *server) patch(path, body string) (int, map[string]any) {
	s.t.Helper()
	return s.doType("PATCH", path, "application/merge-patch+json", body)
}

// TestServiceAllocationConcurrent: concurrent creates over gRPC never get
// the same cluster IP or node port.
func TestServiceAllocationConcurrent(t *testing.T) {
	s := startServer(t)
	c := s.client(s.adminToken)
	ctx := context.Background()
	var mu sync.Mutex
	ips, ports := map[string]bool{}, map[int32]bool{}
	var wg sync.WaitGroup
	const n = 100
	for i := range n {
		wg.Go(func() {
			svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("s%d", i)},
				Spec: &corev1.ServiceSpec{Type: "NodePort", Ports: []*corev1.ServicePort{{Port: 80}}}}
			out, err := c.CoreV1().Services("default").Create(ctx, svc, client.WriteOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ips[out.GetSpec().GetClusterIp()] = true
			ports[out.GetSpec().GetPorts()[0].GetNodePort()] = true
		})
	}
	wg.Wait()
	if len(ips) != n || len(ports) != n {
		t.Errorf("%d creates got %d distinct cluster IPs and %d distinct node ports, want %d each", n, len(ips), len(ports), n)
	}
}

// doType sends a request with the admin token and a content type.
func (s *server) doType(method, path, contentType, body string) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(method, "https://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.adminToken)
	req.Header.Set("Content-Type", contentType)
	resp, err := s.http.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}
