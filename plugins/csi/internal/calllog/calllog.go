// Package calllog writes every gRPC call a server takes as one JSON line:
// the time, the method, the request (fields marked csi_secret left out)
// and the outcome's code. It only watches: a line it cannot write is a
// warning, never a changed result. The local CSI driver's tests read it
// to see which CSI calls reached the driver, in which order.
package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
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
	mu  sync.Mutex
	w   io.Writer
	log *slog.Logger
}

// New returns a logger writing to w; a line it cannot write is a warning
// on the default slog logger.
func New(w io.Writer) *Logger { return &Logger{w: w, log: slog.Default()} }

// Interceptor logs each unary call after it ran.
func (l *Logger) Interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	e := Entry{Time: time.Now().UTC(), Method: info.FullMethod, Request: fields(req), Code: status.Code(err).String()}
	if err != nil {
		e.Error = status.Convert(err).Message()
	}
	if werr := l.write(e); werr != nil {
		// The log only watches: the call's outcome stands.
		l.log.Warn("call log: entry not written", "method", info.FullMethod, "error", werr)
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

// fields is the request as JSON fields (proto names), without the
// fields the schema marks secret (CSI's csi_secret option), at any depth.
func fields(req any) map[string]any {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	m = proto.Clone(m)
	redact(m.ProtoReflect())
	data, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(data, &out) != nil {
		return nil
	}
	return out
}

// redact clears the secret fields of m and of the messages it holds.
func redact(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case secret(fd):
			m.Clear(fd)
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				redact(v.List().Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				redact(mv.Message())
				return true
			})
		case !fd.IsMap() && fd.Message() != nil:
			redact(v.Message())
		}
		return true
	})
}

// secret reports whether the field carries CSI's csi_secret option.
func secret(fd protoreflect.FieldDescriptor) bool {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	if !ok || opts == nil {
		return false
	}
	is, _ := proto.GetExtension(opts, csi.E_CsiSecret).(bool)
	return is
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
