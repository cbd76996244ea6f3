// Package wschannel is the server side of Kubernetes' remote command
// protocol over WebSocket, as kubectl exec and attach speak it: binary
// messages whose first byte names the channel (0 stdin, 1 stdout, 2
// stderr, 3 status, 4 terminal size). In v5.channel.k8s.io a message
// [255, channel] closes that channel, so stdin can end; v4 writes the
// final status as a JSON Status; the older channel.k8s.io (also offered
// as no sub-protocol at all) writes only a failure's message. The base64
// variants send text messages: the channel as an ASCII digit, then the
// data in base64.
package wschannel

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The sub-protocols served, most preferred first.
const (
	ProtocolV5       = "v5.channel.k8s.io"
	ProtocolV4       = "v4.channel.k8s.io"
	ProtocolV4Base64 = "v4.base64.channel.k8s.io"
	ProtocolV1       = "channel.k8s.io"
	ProtocolV1Base64 = "base64.channel.k8s.io"
)

var protocols = []string{ProtocolV5, ProtocolV4, ProtocolV4Base64, ProtocolV1, ProtocolV1Base64}

// Channels of the protocol.
const (
	Stdin  byte = 0
	Stdout byte = 1
	Stderr byte = 2
	Error  byte = 3
	Resize byte = 4
	// closeSignal starts a v5 message that closes the channel in its
	// second byte.
	closeSignal byte = 255
)

// writeWait bounds a write to a client that stopped reading.
const writeWait = 30 * time.Second

// Size is a terminal size as the client sends it on the resize channel.
type Size struct {
	Width  uint16
	Height uint16
}

// Supported reports whether the request is a WebSocket upgrade offering
// a protocol this package serves, or none (channel.k8s.io then).
func Supported(r *http.Request) bool {
	if !websocket.IsWebSocketUpgrade(r) {
		return false
	}
	offered := websocket.Subprotocols(r)
	return len(offered) == 0 || slices.ContainsFunc(offered, func(p string) bool { return slices.Contains(protocols, p) })
}

// Conn is one upgraded connection.
type Conn struct {
	ws       *websocket.Conn
	protocol string

	wmu sync.Mutex // one writer at a time

	stdin      *io.PipeReader
	stdinW     *io.PipeWriter
	resizes    chan Size
	readerDone chan struct{}
}

var upgrader = websocket.Upgrader{
	Subprotocols: protocols,
	// Clients are authenticated by their certificate, not by origin.
	CheckOrigin: func(*http.Request) bool { return true },
}

// Upgrade switches the request to WebSocket and starts reading the
// client's messages. The caller must Close the connection.
func Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	protocol := ws.Subprotocol()
	if protocol == "" {
		protocol = ProtocolV1
	}
	c := &Conn{ws: ws, protocol: protocol, resizes: make(chan Size, 4), readerDone: make(chan struct{})}
	c.stdin, c.stdinW = io.Pipe()
	go c.readLoop()
	return c, nil
}

// base64 tells whether the protocol sends text messages in base64.
func (c *Conn) base64() bool { return c.protocol == ProtocolV4Base64 || c.protocol == ProtocolV1Base64 }

// Protocol is the negotiated sub-protocol.
func (c *Conn) Protocol() string { return c.protocol }

// Stdin is what the client sends on channel 0; it ends when the client
// closes the channel (v5) or the connection.
func (c *Conn) Stdin() io.Reader { return c.stdin }

// DiscardStdin drops whatever the client sends on channel 0, for a
// command that reads no input.
func (c *Conn) DiscardStdin() { _ = c.stdin.Close() }

// Resizes delivers the client's terminal sizes; it is closed when the
// client goes away.
func (c *Conn) Resizes() <-chan Size { return c.resizes }

// Gone is closed when the client has closed the connection or it broke.
func (c *Conn) Gone() <-chan struct{} { return c.readerDone }

// readLoop reads the client's messages until the connection ends. Reading
// also answers the client's pings.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	defer close(c.resizes)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			_ = c.stdinW.CloseWithError(io.EOF)
			return
		}
		if data = c.decode(kind, data); len(data) == 0 {
			continue
		}
		switch data[0] {
		case Stdin:
			if _, err := c.stdinW.Write(data[1:]); err != nil {
				// Nobody reads stdin any more: drop the rest.
				continue
			}
		case Resize:
			var s Size
			if json.Unmarshal(data[1:], &s) == nil {
				select {
				case c.resizes <- s:
				default: // the runtime is behind: a later size follows
				}
			}
		case closeSignal:
			if c.protocol == ProtocolV5 && len(data) > 1 && data[1] == Stdin {
				_ = c.stdinW.Close()
			}
		}
	}
}

// decode returns a message as [channel, data...], or nil when it is not
// one of the protocol's.
func (c *Conn) decode(kind int, data []byte) []byte {
	if !c.base64() {
		if kind != websocket.BinaryMessage {
			return nil
		}
		return data
	}
	if kind != websocket.TextMessage || len(data) == 0 || data[0] < '0' || data[0] > '9' {
		return nil
	}
	payload, err := base64.StdEncoding.DecodeString(string(data[1:]))
	if err != nil {
		return nil
	}
	return append([]byte{data[0] - '0'}, payload...)
}

// Writer writes to one channel of the client; each Write is one message.
func (c *Conn) Writer(channel byte) io.Writer {
	return channelWriter{c: c, channel: channel}
}

type channelWriter struct {
	c       *Conn
	channel byte
}

func (w channelWriter) Write(p []byte) (int, error) {
	if err := w.c.write(w.channel, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *Conn) write(channel byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if c.base64() {
		return c.ws.WriteMessage(websocket.TextMessage, append([]byte{'0' + channel}, base64.StdEncoding.EncodeToString(p)...))
	}
	mw, err := c.ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	if _, err := mw.Write([]byte{channel}); err != nil {
		return err
	}
	if _, err := mw.Write(p); err != nil {
		return err
	}
	return mw.Close()
}

// Ready tells the client the streams are open, as Kubernetes does: an
// empty message on the lowest output channel it asked for.
func (c *Conn) Ready(channel byte) error { return c.write(channel, nil) }

// closeWait is how long Close waits for the client to answer its close.
const closeWait = 5 * time.Second

// Status is the end of a command as the error channel reports it.
type Status interface {
	// Failed tells whether the command failed, and Message why.
	Failed() bool
	Message() string
}

// Close writes the command's status on the error channel (status may be
// nil when there is nothing to report): v4 and v5 write it as JSON, the
// older protocols only a failure's message. Then it closes the WebSocket
// normally and waits briefly for the client to do the same.
func (c *Conn) Close(status Status) error {
	var errs []error
	switch {
	case status == nil:
	case c.protocol == ProtocolV5 || c.protocol == ProtocolV4 || c.protocol == ProtocolV4Base64:
		data, err := json.Marshal(status)
		if err == nil {
			err = c.write(Error, data)
		}
		errs = append(errs, err)
	case status.Failed():
		errs = append(errs, c.write(Error, []byte(status.Message())))
	}
	c.wmu.Lock()
	errs = append(errs, c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)))
	c.wmu.Unlock()
	// Nobody reads stdin any more; a read loop blocked writing it goes on.
	_ = c.stdin.Close()
	select {
	case <-c.readerDone:
	case <-time.After(closeWait):
	}
	if err := c.ws.Close(); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
