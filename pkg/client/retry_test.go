package client

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	metav1 "skiff.dev/api/meta/v1"
)

// failing is a failure the test server answers with.
type failing func() error

func withStatus(code int32, retryAfter int32) failing {
	return func() error {
		grpcCode := map[int32]codes.Code{409: codes.Aborted, 429: codes.ResourceExhausted, 500: codes.Internal, 503: codes.Unavailable, 504: codes.DeadlineExceeded}[code]
		s, _ := status.New(grpcCode, "failed").WithDetails(&metav1.Status{Code: code, Details: &metav1.StatusDetails{RetryAfterSeconds: retryAfter}})
		return s.Err()
	}
}

// transport is a failure with no Status, as a broken connection gives.
func transport() error { return status.Error(codes.Unavailable, "connection reset") }

// retryServer answers every method: the first len(fails) calls fail as
// told, later ones succeed (a stream sends one message).
type retryServer struct {
	fails []failing
	calls atomic.Int32
}

func (s *retryServer) handle(_ any, stream grpc.ServerStream) error {
	n := int(s.calls.Add(1)) - 1
	if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
		return err
	}
	if n < len(s.fails) {
		return s.fails[n]()
	}
	return stream.SendMsg(&emptypb.Empty{})
}

func dialRetryServer(t *testing.T, srv *retryServer) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(grpc.UnknownServiceHandler(srv.handle))
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), append(retryOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// quickRetries makes a second of Retry-After and the back-off short.
func quickRetries(t *testing.T) {
	retryAfterUnit, backoffBase = 10*time.Millisecond, time.Millisecond
	t.Cleanup(func() { retryAfterUnit, backoffBase = time.Second, 100*time.Millisecond })
}

func TestRetries(t *testing.T) {
	quickRetries(t)
	unavailable := withStatus(503, 1)
	tests := []struct {
		name   string
		method string
		fails  []failing
		ok     bool
		calls  int32
	}{
		{"a write after 503 with Retry-After", "Create", []failing{unavailable, unavailable}, true, 3},
		{"a read after 504 with Retry-After", "List", []failing{withStatus(504, 1)}, true, 2},
		{"429 with Retry-After", "Update", []failing{withStatus(429, 1)}, true, 2},
		{"5xx without Retry-After is final", "Get", []failing{withStatus(500, 0)}, false, 1},
		{"4xx is final", "Create", []failing{withStatus(409, 0)}, false, 1},
		{"a read after a broken connection", "Get", []failing{transport, transport}, true, 3},
		{"a write after a broken connection is final", "Delete", []failing{transport}, false, 1},
		{"at most ten retries", "Get", []failing{unavailable, unavailable, unavailable, unavailable, unavailable,
			unavailable, unavailable, unavailable, unavailable, unavailable, unavailable}, false, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &retryServer{fails: tt.fails}
			conn := dialRetryServer(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := conn.Invoke(ctx, "/skiff.test.v1.ThingService/"+tt.method, &emptypb.Empty{}, &emptypb.Empty{})
			if (err == nil) != tt.ok {
				t.Errorf("got %v, want success %v", err, tt.ok)
			}
			if got := srv.calls.Load(); got != tt.calls {
				t.Errorf("%d calls, want %d", got, tt.calls)
			}
		})
	}
}

// TestRetryStopsAtTheDeadline: a wait that would outlast the call's
// deadline is not begun; the server's answer is returned.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	srv := &retryServer{fails: []failing{withStatus(503, 30)}}
	conn := dialRetryServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := conn.Invoke(ctx, "/skiff.test.v1.ThingService/Create", &emptypb.Empty{}, &emptypb.Empty{})
	if st := statusOf(FromGRPC(err)); st.GetCode() != 503 {
		t.Errorf("got %v, want the server's 503", err)
	}
	if got := srv.calls.Load(); got != 1 {
		t.Errorf("%d calls, want 1", got)
	}
}

// TestWatchStartIsRetried: a watch the server refuses with a Retry-After
// is opened again with the same request; once events flow, an error is
// the caller's.
func TestWatchStartIsRetried(t *testing.T) {
	quickRetries(t)
	srv := &retryServer{fails: []failing{withStatus(503, 1), transport}}
	conn := dialRetryServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/skiff.test.v1.ThingService/Watch")
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if got := srv.calls.Load(); got != 3 {
		t.Errorf("%d stream starts, want 3", got)
	}
	// The server ended the stream after its one message: that is the
	// end of the watch, not something to retry.
	if err := stream.RecvMsg(&emptypb.Empty{}); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("after the event: got %v, want the end of the stream", err)
	}
}
