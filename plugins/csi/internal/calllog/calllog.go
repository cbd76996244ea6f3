// Package calllog writes every gRPC call a server takes as one JSON line:
// the time, the method, the request (secrets left out) and the outcome's
// code. The local CSI driver's tests read it to see which CSI calls
// reached the driver, in which order.
package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Entry is one line of the log.
type Entry struct {
	Time    time.Time      `json:"time"`
	Method  string         `json:"method"`
	Request map[string]any `json:"request,omitempty"`
	Code    string         `json:"code"`
	Error   string         `json:"error,omitempty"`
}

// Logger writes entries to w, one line each, in the order calls end.
type Logger struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a logger writing to w.
func New(w io.Writer) *Logger { return &Logger{w: w} }

// Interceptor logs each unary call after it ran.
func (l *Logger) Interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	e := Entry{Time: time.Now().UTC(), Method: info.FullMethod, Request: fields(req), Code: status.Code(err).String()}
	if err != nil {
		e.Error = status.Convert(err).Message()
	}
	if werr := l.write(e); werr != nil {
		return resp, fmt.Errorf("call log: %w", werr)
	}
	return resp, err
}

func (l *Logger) write(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.w.Write(append(line, '\n'))
	return err
}

// fields is the request as JSON fields (proto names), without secrets.
func fields(req any) map[string]any {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	data, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(data, &out) != nil {
		return nil
	}
	delete(out, "secrets")
	return out
}

// Read parses a log's lines.
func Read(data []byte) ([]Entry, error) {
	var entries []Entry
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			return entries, fmt.Errorf("call log: %w", err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}
