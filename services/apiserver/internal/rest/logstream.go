package rest

import (
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/websocket"
)

// The WebSocket sub-protocols of a streamed log, as Kubernetes serves
// them: binary messages of raw log data, or text messages of base64.
const (
	logProtocolBinary = "binary.k8s.io"
	logProtocolBase64 = "base64.binary.k8s.io"
)

var logUpgrader = websocket.Upgrader{
	Subprotocols: []string{logProtocolBinary, logProtocolBase64},
	// Clients are authenticated by their token, not by origin.
	CheckOrigin: func(*http.Request) bool { return true },
}

// logOutput is where a log goes: the response body, flushed after every
// write, or a WebSocket when the request is an upgrade offering one of
// the log protocols (or none). done ends the stream; gone is called when
// the WebSocket's client goes away (a hijacked request's context does not
// end with it).
func logOutput(w http.ResponseWriter, r *http.Request, gone func()) (out io.Writer, done func(), err error) {
	offered := websocket.Subprotocols(r)
	if !websocket.IsWebSocketUpgrade(r) ||
		(len(offered) > 0 && !slices.Contains(offered, logProtocolBinary) && !slices.Contains(offered, logProtocolBase64)) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		return flushWriter{w}, func() {}, nil
	}
	ws, err := logUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil, nil, err
	}
	go func() {
		for {
			if _, _, err := ws.NextReader(); err != nil {
				gone()
				return
			}
		}
	}()
	return wsLogWriter{ws: ws, base64: ws.Subprotocol() == logProtocolBase64}, func() {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		_ = ws.Close()
	}, nil
}

// flushWriter flushes the response after each write.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	_ = http.NewResponseController(f.w).Flush()
	return n, err
}

// wsLogWriter sends each write as one WebSocket message.
type wsLogWriter struct {
	ws     *websocket.Conn
	base64 bool
}

func (l wsLogWriter) Write(p []byte) (int, error) {
	_ = l.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	var err error
	if l.base64 {
		err = l.ws.WriteMessage(websocket.TextMessage, []byte(base64.StdEncoding.EncodeToString(p)))
	} else {
		err = l.ws.WriteMessage(websocket.BinaryMessage, p)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
