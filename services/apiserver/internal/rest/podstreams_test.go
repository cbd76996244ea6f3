package rest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/catalog"
	"skiff.dev/services/apiserver/internal/registry"
)

// objects is a backend that only gets.
type objects struct {
	registry.Backend
	plural string
	items  map[string]proto.Message // by namespace/name
}

func (o objects) Get(_ context.Context, ns, name string, _ registry.GetOptions) (proto.Message, error) {
	if obj, ok := o.items[ns+"/"+name]; ok {
		return obj, nil
	}
	return nil, apierrors.NewNotFound(apierrors.Resource{Resource: o.plural}, name)
}

// kubelets sends every node's requests to one test server.
type kubelets struct{ url *url.URL }

func (k kubelets) Location(*corev1.Node) (*url.URL, http.RoundTripper, error) {
	return k.url, http.DefaultTransport, nil
}

func pod(name, node, phase string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &corev1.PodSpec{NodeName: &node}, Status: &corev1.PodStatus{Phase: phase}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: c})
	}
	return p
}

// fakeKubelet records the requests it gets and answers as a kubelet.
type fakeKubelet struct {
	mu       sync.Mutex
	requests []*http.Request
}

func (k *fakeKubelet) last() *http.Request {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.requests[len(k.requests)-1]
}

func (k *fakeKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.requests = append(k.requests, r)
	k.mu.Unlock()
	switch {
	case r.URL.Path == "/containerLogs/default/web/app":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "line 1\nline 2\n")
	case r.URL.Path == "/containerLogs/default/web/waiting":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"container \"waiting\" in pod \"web\" is waiting to start","reason":"BadRequest","code":400}`)
	case r.URL.Path == "/containerLogs/default/web/refused":
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "no client certificate")
	case strings.HasPrefix(r.URL.Path, "/exec/") && r.Header.Get("Upgrade") == "test":
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		_ = rw.Flush()
		line, _ := rw.ReadString('\n')
		_, _ = rw.WriteString("echo " + line)
		_ = rw.Flush()
	default:
		http.NotFound(w, r)
	}
}

func podStreamServer(t *testing.T) (*httptest.Server, *fakeKubelet) {
	t.Helper()
	fk := &fakeKubelet{}
	ks := httptest.NewServer(fk)
	t.Cleanup(ks.Close)
	ku, _ := url.Parse(ks.URL)
	podsRes := &registry.Resource{Version: "v1", Plural: "pods", Kind: "Pod", Namespaced: true}
	nodesRes := &registry.Resource{Version: "v1", Plural: "nodes", Kind: "Node"}
	h := New(Config{Kubelets: kubelets{ku}, Catalog: catalog.New([]Served{
		{Resource: podsRes, Backend: objects{plural: "pods", items: map[string]proto.Message{
			"default/web":     pod("web", "n1", "Running", "app", "waiting", "refused"),
			"default/solo":    pod("solo", "n1", "Running", "app"),
			"default/pending": pod("pending", "", "Pending", "app"),
			"default/done":    pod("done", "n1", "Succeeded", "app"),
			"default/lost":    pod("lost", "gone", "Running", "app"),
		}}},
		{Resource: nodesRes, Backend: objects{plural: "nodes", items: map[string]proto.Message{
			"/n1": &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1"}},
		}}},
	})})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s, fk
}

func TestPodLog(t *testing.T) {
	s, fk := podStreamServer(t)
	resp, err := http.Get(s.URL + "/api/v1/namespaces/default/pods/web/log?container=app&follow=true&tailLines=2&timestamps=false")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "line 1\nline 2\n" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("got %d %s %q, want the kubelet's text", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if got, want := fk.last().URL.RawQuery, "follow=true&tailLines=2"; got != want {
		t.Errorf("kubelet query: got %q, want %q", got, want)
	}
}

func TestPodLogErrors(t *testing.T) {
	s, _ := podStreamServer(t)
	for _, tc := range []struct {
		path     string
		wantCode int
		want     string
	}{
		{"nothere/log", 404, `pods \"nothere\" not found`},
		{"pending/log", 400, "pod pending does not have a host assigned"},
		{"web/log", 400, "a container name must be specified for pod web, choose one of: [app waiting refused]"},
		{"web/log?container=nope", 400, "container nope is not valid for pod web"},
		{"web/log?container=waiting", 400, `container \"waiting\" in pod \"web\" is waiting to start`},
		{"web/log?container=refused", 500, "the kubelet on node n1 refused the apiserver"},
		{"lost/log", 404, `nodes \"gone\" not found`},
		{"solo/log?tailLines=-2", 400, "tailLines"},
		{"solo/log?sinceSeconds=3&sinceTime=2024-01-01T00:00:00Z", 400, "at most one of sinceTime or sinceSeconds"},
		{"solo/log?follow=maybe", 400, "follow"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(s.URL + "/api/v1/namespaces/default/pods/" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.want) || !strings.Contains(string(body), `"kind":"Status"`) {
				t.Errorf("got %d %s, want %d Status with %q", resp.StatusCode, body, tc.wantCode, tc.want)
			}
		})
	}
}

// TestPodExecUpgrade: an upgrade request is checked, rewritten to the
// kubelet's /exec path and query, and then proxied both ways.
func TestPodExecUpgrade(t *testing.T) {
	s, fk := podStreamServer(t)
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/namespaces/default/pods/solo/exec?command=cat&command=%%2Fetc%%2Fhostname&stdin=true&stdout=true&tty=false HTTP/1.1\r\n"+
		"Host: x\r\nAuthorization: Bearer secret\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("got %s %s, want 101", resp.Status, body)
	}
	fmt.Fprintf(conn, "ping\n")
	if line, _ := br.ReadString('\n'); line != "echo ping\n" {
		t.Errorf("through the proxy: got %q, want the kubelet's echo", line)
	}
	r := fk.last()
	if r.URL.Path != "/exec/default/solo/app" || r.URL.Query().Get("input") != "1" || r.URL.Query().Get("output") != "1" ||
		strings.Join(r.URL.Query()["command"], " ") != "cat /etc/hostname" || r.URL.Query().Has("tty") {
		t.Errorf("kubelet got %s, want /exec/default/solo/app with command, input and output", r.URL)
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("the user's Authorization header reached the kubelet")
	}
}

func TestPodExecErrors(t *testing.T) {
	s, _ := podStreamServer(t)
	for _, tc := range []struct {
		path     string
		wantCode int
		want     string
	}{
		{"done/exec?command=ls&stdout=true", 400, "cannot exec into a container in a completed pod; current phase is Succeeded"},
		{"done/attach?stdout=true", 400, "cannot attach to a container in a completed pod"},
		{"solo/exec?stdout=true", 400, "you must specify at least 1 command"},
		{"solo/exec?command=ls", 400, "you must specify at least 1 of stdin, stdout, stderr"},
		{"web/exec?command=ls&stdout=true", 400, "a container name must be specified for pod web"},
		{"pending/exec?command=ls&stdout=true", 400, "pod pending does not have a host assigned"},
		{"solo/portforward?ports=0", 400, "ports"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Post(s.URL+"/api/v1/namespaces/default/pods/"+tc.path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.want) {
				t.Errorf("got %d %s, want %d %q", resp.StatusCode, body, tc.wantCode, tc.want)
			}
		})
	}
	// A kubelet failure before the upgrade comes back as a Status.
	resp, err := http.Post(s.URL+"/api/v1/namespaces/default/pods/solo/exec?command=ls&stdout=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"kind":"Status"`) {
		t.Errorf("kubelet 404: got %d %s, want a 404 Status", resp.StatusCode, body)
	}
}

func TestKubeletPathEscapes(t *testing.T) {
	base, _ := url.Parse("https://10.0.0.1:10250")
	u := kubeletPath(base, url.Values{"command": {"a b"}}, "exec", "ns", "pod", "c/d")
	if got, want := u.String(), "https://10.0.0.1:10250/exec/ns/pod/c%2Fd?command=a+b"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
