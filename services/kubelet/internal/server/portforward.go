package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Port forwarding is SPDY end to end: kubectl runs its SPDY client
// through a WebSocket (each binary message a piece of the byte stream,
// sub-protocol SPDY/3.1+portforward.k8s.io) and containerd's streaming
// server is a SPDY server. The kubelet upgrades both sides and copies the
// bytes.
const (
	portForwardProtocol = "portforward.k8s.io"
	tunnelProtocol      = "SPDY/3.1+" + portForwardProtocol
)

var tunnelUpgrader = websocket.Upgrader{
	Subprotocols: []string{tunnelProtocol},
	CheckOrigin:  func(*http.Request) bool { return true },
}

// portForward serves /portForward/{namespace}/{pod}.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request) {
	ns, pod := r.PathValue("namespace"), r.PathValue("pod")
	if !websocket.IsWebSocketUpgrade(r) || !slices.Contains(websocket.Subprotocols(r), tunnelProtocol) {
		writeError(w, r, badRequest("the kubelet forwards ports over WebSocket only ("+tunnelProtocol+"); use kubectl 1.31 or later"))
		return
	}
	var ports []int32
	for _, p := range r.URL.Query()["port"] {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			writeError(w, r, badRequest(fmt.Sprintf("port %q: want a port number", p)))
			return
		}
		ports = append(ports, int32(n))
	}
	ctx := r.Context()
	sb, err := s.sandbox(ctx, ns, pod)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp, err := s.cfg.Runtime.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: sb.GetId(), Port: ports})
	if err != nil {
		writeError(w, r, fmt.Errorf("port-forward to the pod: %w", err))
		return
	}
	backend, err := dialSPDY(ctx, resp.GetUrl(), portForwardProtocol)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer backend.Close()
	ws, err := tunnelUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer ws.Close()
	splice(ws, backend)
}

// dialSPDY upgrades a connection to the runtime's streaming URL to SPDY
// with the given stream protocol and returns the raw connection.
func dialSPDY(ctx context.Context, raw, protocol string) (net.Conn, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("the runtime's streaming URL %q: only http:// is supported", raw)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("connect to the runtime's streaming server: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, raw, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	req.Header.Set("X-Stream-Protocol-Version", protocol)
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	err = req.Write(conn)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(br, req)
	}
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		err = fmt.Errorf("the runtime's streaming server answered %s: %s", resp.Status, body)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("upgrade to SPDY at the runtime's streaming server: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	return bufferedConn{Conn: conn, r: br}, nil
}

// bufferedConn reads what the response reader buffered first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// splice copies bytes both ways until either side ends.
func splice(ws *websocket.Conn, backend net.Conn) {
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = ws.Close()
			_ = backend.Close()
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer stop()
		for {
			kind, r, err := ws.NextReader()
			if err != nil {
				return
			}
			if kind != websocket.BinaryMessage {
				continue
			}
			if _, err := io.Copy(backend, r); err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer stop()
		buf := make([]byte, 32<<10)
		for {
			n, err := backend.Read(buf)
			if n > 0 {
				if werr := ws.WriteMessage(websocket.BinaryMessage, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	wg.Wait()
}
