package kubelet

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
)

// testWebSockets speaks to pods/exec and pods/log the way the upstream
// conformance suite does: plain WebSocket clients offering the older
// channel.k8s.io and binary.k8s.io protocols (and their base64 forms)
// through the apiserver.
func testWebSockets(t *testing.T, cl *cluster) {
	cfg := cl.srv.RESTConfig()
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(t *testing.T, path string, query url.Values, protocol string) *websocket.Conn {
		t.Helper()
		u := strings.Replace(cl.srv.URL(), "https://", "wss://", 1) + path + "?" + query.Encode()
		d := websocket.Dialer{TLSClientConfig: tlsCfg, Subprotocols: []string{protocol}, HandshakeTimeout: 10 * time.Second}
		ws, resp, err := d.Dial(u, http.Header{"Authorization": {"Bearer " + cfg.BearerToken}})
		if err != nil {
			t.Fatalf("dial %s (%s): %v (%v)", path, protocol, err, resp)
		}
		if ws.Subprotocol() != protocol {
			t.Fatalf("negotiated %q, want %q", ws.Subprotocol(), protocol)
		}
		t.Cleanup(func() { ws.Close() })
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		return ws
	}
	exec := url.Values{"command": {"cat", "/etc/hostname"}, "container": {"server"}, "stdout": {"1"}, "stderr": {"1"}}
	for _, tc := range []struct {
		protocol string
		base64   bool
	}{{"channel.k8s.io", false}, {"base64.channel.k8s.io", true}} {
		t.Run("exec "+tc.protocol, func(t *testing.T) {
			ws := dial(t, "/api/v1/namespaces/default/pods/talker/exec", exec, tc.protocol)
			got := map[byte]string{}
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					break
				}
				if len(msg) == 0 {
					continue
				}
				ch, data := msg[0], msg[1:]
				if tc.base64 {
					ch -= '0'
					if data, err = base64.StdEncoding.DecodeString(string(data)); err != nil {
						t.Fatalf("not base64: %q", msg)
					}
				}
				got[ch] += string(data)
			}
			if got[1] != "talker\n" || got[2] != "" || got[3] != "" {
				t.Errorf("got stdout %q, stderr %q, error channel %q; want the hostname on stdout only", got[1], got[2], got[3])
			}
		})
	}
	for _, tc := range []struct {
		protocol string
		base64   bool
	}{{"binary.k8s.io", false}, {"base64.binary.k8s.io", true}} {
		t.Run("log "+tc.protocol, func(t *testing.T) {
			ws := dial(t, "/api/v1/namespaces/default/pods/talker/log", url.Values{"tailLines": {"2"}}, tc.protocol)
			var got strings.Builder
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					break
				}
				if tc.base64 {
					if msg, err = base64.StdEncoding.DecodeString(string(msg)); err != nil {
						t.Fatalf("not base64: %q", msg)
					}
				}
				got.Write(msg)
			}
			if lines := strings.Split(strings.TrimSpace(got.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "log line ") {
				t.Errorf("got log %q, want its last two lines", got.String())
			}
		})
	}
}
