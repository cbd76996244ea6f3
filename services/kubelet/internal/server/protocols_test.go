package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestProtocols: the server offers HTTP/2 and HTTP/1.1; a client offering
// only http/1.1 (as the apiserver does) gets it, and the streaming paths
// asked over HTTP/2, where no upgrade exists, answer 400 at once.
func TestProtocols(t *testing.T) {
	p := newPKI(t)
	rt := &fakeRuntime{containers: []*runtimeapi.Container{container("c1", "uid-1", 0, runtimeapi.ContainerState_CONTAINER_RUNNING, 1)}}
	s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, s, nil)
	for _, tc := range []struct {
		name      string
		offer     []string
		wantMajor int
	}{
		{"h2 and http/1.1 offered", []string{"h2", "http/1.1"}, 2},
		{"http/1.1 offered", []string{"http/1.1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, //nolint:gosec // the test server's own certificate
				Certificates: []tls.Certificate{p.client}, NextProtos: tc.offer}, ForceAttemptHTTP2: tc.wantMajor == 2}
			t.Cleanup(tr.CloseIdleConnections)
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for _, path := range []string{"/nothing", "/exec/ns/web/app?command=ls&output=1", "/attach/ns/web/app?output=1", "/portForward/ns/web?port=80"} {
				req, _ := http.NewRequest(http.MethodGet, base+path, nil)
				// What a WebSocket client sends besides the hop-by-hop
				// Connection and Upgrade, which HTTP/2 forbids.
				req.Header.Set("Sec-WebSocket-Version", "13")
				req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
				req.Header.Set("Sec-WebSocket-Protocol", "v5.channel.k8s.io, "+tunnelProtocol)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want, wantText := http.StatusBadRequest, "WebSocket"
				if path == "/nothing" {
					want, wantText = http.StatusNotFound, "serves no"
				}
				if resp.ProtoMajor != tc.wantMajor || resp.StatusCode != want || !strings.Contains(string(body), wantText) {
					t.Errorf("%s: got %s %d %s, want HTTP/%d %d %s", path, resp.Proto, resp.StatusCode, body, tc.wantMajor, want, wantText)
				}
			}
		})
	}
}

// tunnelRuntime forwards a pod's ports to an echo server that speaks
// the runtime's side of the SPDY upgrade.
type tunnelRuntime struct {
	fakeRuntime
	url string
}

func (f *tunnelRuntime) ListPodSandbox(context.Context, *runtimeapi.ListPodSandboxRequest, ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error) {
	return &runtimeapi.ListPodSandboxResponse{Items: []*runtimeapi.PodSandbox{{Id: "sb1"}}}, nil
}

func (f *tunnelRuntime) PortForward(context.Context, *runtimeapi.PortForwardRequest, ...grpc.CallOption) (*runtimeapi.PortForwardResponse, error) {
	return &runtimeapi.PortForwardResponse{Url: f.url}, nil
}

// echoUpgrades answers every upgrade with 101 and echoes the bytes after.
func echoUpgrades(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				_, _ = io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n")
				_, _ = io.Copy(conn, br)
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/portforward/x"
}

// TestUpgradeOverHTTP11: a WebSocket client offering http/1.1, as the
// apiserver's kubelet client does, upgrades port-forward and its bytes go
// through, although the server also offers HTTP/2.
func TestUpgradeOverHTTP11(t *testing.T) {
	p := newPKI(t)
	rt := &tunnelRuntime{url: echoUpgrades(t)}
	s, err := New(Config{NodeName: "n1", PKIDir: t.TempDir(), ClientCAFile: p.caFile, Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, s, nil)
	d := websocket.Dialer{Subprotocols: []string{tunnelProtocol}, HandshakeTimeout: 10 * time.Second,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, //nolint:gosec // the test server's own certificate
			Certificates: []tls.Certificate{p.client}, NextProtos: []string{"http/1.1"}}}
	ws, resp, err := d.Dial("wss"+strings.TrimPrefix(base, "https")+"/portForward/ns/web?port=80", nil)
	if err != nil {
		t.Fatalf("upgrade: %v (%v)", err, resp)
	}
	defer ws.Close()
	if ws.Subprotocol() != tunnelProtocol {
		t.Errorf("sub-protocol %q, want %q", ws.Subprotocol(), tunnelProtocol)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	kind, got, err := ws.ReadMessage()
	if err != nil || kind != websocket.BinaryMessage || string(got) != "ping" {
		t.Errorf("echo: got %d %q %v, want the binary message ping", kind, got, err)
	}
}
