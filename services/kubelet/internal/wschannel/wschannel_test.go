package wschannel

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// echo serves one connection: the terminal size on stderr, stdin back on
// stdout until it ends, then a status.
func echo(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Supported(r) {
			http.Error(w, "unsupported", http.StatusBadRequest)
			return
		}
		c, err := Upgrade(w, r)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		if err := c.Ready(Stdout); err != nil {
			t.Errorf("ready: %v", err)
		}
		size := <-c.Resizes()
		fmt.Fprintf(c.Writer(Stderr), "%dx%d", size.Width, size.Height)
		_, _ = io.Copy(c.Writer(Stdout), c.Stdin())
		_ = c.Close(testStatus{})
	}))
}

// testStatus is a command that succeeded.
type testStatus struct{}

func (testStatus) Failed() bool                 { return false }
func (testStatus) Message() string              { return "" }
func (testStatus) MarshalJSON() ([]byte, error) { return []byte(`{"status":"Success"}`), nil }

func dial(t *testing.T, url string, protocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	return d.Dial("ws"+strings.TrimPrefix(url, "http"), nil)
}

func TestV5Session(t *testing.T) {
	srv := echo(t)
	defer srv.Close()
	ws, _, err := dial(t, srv.URL, "v5.channel.k8s.io", "v4.channel.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if ws.Subprotocol() != ProtocolV5 {
		t.Fatalf("negotiated %q, want %s", ws.Subprotocol(), ProtocolV5)
	}
	send := func(data ...byte) {
		if err := ws.WriteMessage(websocket.BinaryMessage, data); err != nil {
			t.Fatal(err)
		}
	}
	send(append([]byte{Resize}, `{"Width":80,"Height":24}`...)...)
	send(append([]byte{Stdin}, "hello "...)...)
	send(append([]byte{Stdin}, "world"...)...)
	send(closeSignal, Stdin)

	got := map[byte]string{}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("read: %v", err)
			}
			break
		}
		if kind != websocket.BinaryMessage || len(data) == 0 {
			t.Fatalf("got message kind %d %q, want binary with a channel", kind, data)
		}
		got[data[0]] += string(data[1:])
	}
	want := map[byte]string{Stdout: "hello world", Stderr: "80x24", Error: `{"status":"Success"}`}
	for ch, w := range want {
		if got[ch] != w {
			t.Errorf("channel %d: got %q, want %q", ch, got[ch], w)
		}
	}
}

func TestRefusesOtherProtocols(t *testing.T) {
	srv := echo(t)
	defer srv.Close()
	_, resp, err := dial(t, srv.URL, "v9.channel.k8s.io")
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("got %v, want a refused handshake", err)
	}
}

// failedStatus is a command that failed.
type failedStatus struct{}

func (failedStatus) Failed() bool { return true }
func (failedStatus) Message() string {
	return "command terminated with non-zero exit code: exit code 3"
}
func (failedStatus) MarshalJSON() ([]byte, error) { return []byte(`{"status":"Failure"}`), nil }

// TestOlderProtocols: what each sub-protocol's client reads of a command
// that printed "out" (after echoing its first stdin message on stderr) and
// ended with status.
func TestOlderProtocols(t *testing.T) {
	for _, tc := range []struct {
		offered   []string
		status    Status
		base64    bool
		wantError string
	}{
		{[]string{"channel.k8s.io"}, failedStatus{}, false, "command terminated with non-zero exit code: exit code 3"},
		{[]string{"channel.k8s.io"}, testStatus{}, false, ""},
		{nil, failedStatus{}, false, "command terminated with non-zero exit code: exit code 3"},
		{[]string{"base64.channel.k8s.io"}, testStatus{}, true, ""},
		{[]string{"v4.base64.channel.k8s.io"}, failedStatus{}, true, `{"status":"Failure"}`},
	} {
		t.Run(fmt.Sprint(tc.offered, tc.status.Failed()), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !Supported(r) {
					http.Error(w, "unsupported", http.StatusBadRequest)
					return
				}
				c, err := Upgrade(w, r)
				if err != nil {
					t.Errorf("upgrade: %v", err)
					return
				}
				buf := make([]byte, 64)
				n, _ := c.Stdin().Read(buf)
				fmt.Fprint(c.Writer(Stderr), string(buf[:n]))
				fmt.Fprint(c.Writer(Stdout), "out")
				_ = c.Close(tc.status)
			}))
			defer srv.Close()
			ws, _, err := dial(t, srv.URL, tc.offered...)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			kind, in := websocket.BinaryMessage, []byte{Stdin, 'h', 'i'}
			if tc.base64 {
				kind, in = websocket.TextMessage, []byte("0"+base64.StdEncoding.EncodeToString([]byte("hi")))
			}
			if err := ws.WriteMessage(kind, in); err != nil {
				t.Fatal(err)
			}
			got := map[byte]string{}
			_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				k, data, err := ws.ReadMessage()
				if err != nil {
					break
				}
				if tc.base64 {
					payload, err := base64.StdEncoding.DecodeString(string(data[1:]))
					if k != websocket.TextMessage || err != nil {
						t.Fatalf("got message kind %d %q, want base64 text", k, data)
					}
					got[data[0]-'0'] += string(payload)
					continue
				}
				got[data[0]] += string(data[1:])
			}
			want := map[byte]string{Stdout: "out", Stderr: "hi", Error: tc.wantError}
			for ch, w := range want {
				if got[ch] != w {
					t.Errorf("channel %d: got %q, want %q", ch, got[ch], w)
				}
			}
		})
	}
}
