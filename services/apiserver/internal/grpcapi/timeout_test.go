package grpcapi

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1 "skiff.dev/api/meta/v1"
)

// TestTimeoutUnary: a unary call still running at the request timeout is
// answered DeadlineExceeded with the 504 Status, even when its handler
// ignores its context; an exempt method and a quick call are left alone.
func TestTimeoutUnary(t *testing.T) {
	const max = 200 * time.Millisecond
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stuck := func(context.Context, any) (any, error) { <-release; return "late", nil }
	quick := func(context.Context, any) (any, error) { return "ok", nil }
	deadline := func(ctx context.Context, _ any) (any, error) {
		if _, ok := ctx.Deadline(); ok {
			return "deadline", nil
		}
		return "none", nil
	}
	interceptor := TimeoutUnary(max, "/skiff.election.v1.ElectionService/Campaign")
	tests := []struct {
		name    string
		method  string
		handler grpc.UnaryHandler
		resp    any
		code    codes.Code
	}{
		{"stuck", "/skiff.core.v1.PodService/Create", stuck, nil, codes.DeadlineExceeded},
		{"quick", "/skiff.core.v1.PodService/Get", quick, "ok", codes.OK},
		{"bounded", "/skiff.core.v1.PodService/Get", deadline, "deadline", codes.OK},
		{"exempt", "/skiff.election.v1.ElectionService/Campaign", deadline, "none", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := interceptor(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, tt.handler)
			if status.Code(err) != tt.code || resp != tt.resp {
				t.Fatalf("got %v, %v; want %v, %s", resp, err, tt.resp, tt.code)
			}
			if tt.code == codes.DeadlineExceeded {
				st := statusDetailOf(t, err)
				if st.GetCode() != 504 || st.GetReason() != "Timeout" {
					t.Errorf("Status %d %s, want 504 Timeout", st.GetCode(), st.GetReason())
				}
			}
		})
	}
}

func statusDetailOf(t *testing.T, err error) *metav1.Status {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if st, ok := d.(*metav1.Status); ok {
			return st
		}
	}
	t.Fatalf("%v carries no Status", err)
	return nil
}
