package client

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	metav1 "skiff.dev/api/meta/v1"
)

// The client retries as client-go's rest client does:
//
//   - An answer whose Status is a 429 or a 5xx with a Retry-After
//     (details.retryAfterSeconds, as the apiserver sends when etcd is
//     unavailable or a flow is throttled) is retried for every method,
//     writes included, since the server asked for it.
//   - A call that failed in transport (codes.Unavailable without a
//     Status: the connection was refused or broke) is retried only when it
//     reads (Get, List, GetScale and the start of a Watch): a write may
//     have been applied before the connection broke. The first such retry
//     goes at once, on a new connection (dial.go), the next ones after the
//     back-off.
//   - At most maxRetries retries, each after the Retry-After or a growing
//     back-off, whichever is longer, and never past the call's deadline:
//     when the wait would end after it, the last answer is returned.
//
// A write retried after a 503 may find that its first attempt was applied
// after all (a create then answers AlreadyExists, an update Conflict), as
// with client-go.
const maxRetries = 10

// retryAfterUnit is what one second of Retry-After waits, and
// backoffBase the first back-off; tests shorten them.
var (
	retryAfterUnit = time.Second
	backoffBase    = 100 * time.Millisecond
)

// backoff is the wait before retry n (0-based) when no Retry-After asks
// for longer: 100ms doubling to at most 5s (50 times the first), with 10%
// jitter.
func backoff(n int) time.Duration {
	d := min(backoffBase<<min(n, 6), 50*backoffBase)
	return d + rand.N(d/10+1)
}

// readMethods are the methods that only read, by their last name.
var readMethods = map[string]bool{"Get": true, "List": true, "Watch": true, "GetScale": true}

func isRead(fullMethod string) bool {
	return readMethods[fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]]
}

// retryWait says whether the failure err of attempt n (0-based) of method
// is retried, and after how long.
func retryWait(method string, err error, n int) (time.Duration, bool) {
	if err == nil || n >= maxRetries {
		return 0, false
	}
	s, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	if st := statusDetail(s); st != nil {
		after := st.GetDetails().GetRetryAfterSeconds()
		if (st.GetCode() == 429 || st.GetCode() >= 500) && after > 0 {
			return max(time.Duration(after)*retryAfterUnit, backoff(n)), true
		}
		return 0, false
	}
	if s.Code() == codes.Unavailable && isRead(method) {
		if n == 0 {
			// The connection broke: gRPC connects again, to another
			// apiserver when it knows several, before it sends the
			// retry, and fails it at once only when none answers.
			return 0, true
		}
		return backoff(n), true
	}
	return 0, false
}

func statusDetail(s *status.Status) *metav1.Status {
	for _, d := range s.Details() {
		if st, ok := d.(*metav1.Status); ok {
			return st
		}
	}
	return nil
}

// sleep waits d unless ctx ends first or would end before d is over;
// false means do not retry.
func sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryOptions are the dial options that make a connection retry.
func retryOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(retryUnary), grpc.WithChainStreamInterceptor(retryStream)}
}

func retryUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	for n := 0; ; n++ {
		err := invoke(ctx, method, req, reply, cc, opts...)
		wait, ok := retryWait(method, err, n)
		if !ok || !sleep(ctx, wait) {
			return err
		}
	}
}

// retryStream retries the start of a server stream that reads (a watch):
// the server's refusal arrives as the first receive's error, so the
// stream is opened again, with the same request, until the first message
// arrives. Once one has, errors are the caller's to handle.
func retryStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, open grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := open(ctx, desc, cc, method, opts...)
	if err != nil || desc.ClientStreams || !desc.ServerStreams || !isRead(method) {
		return s, err
	}
	return &retryingStream{ClientStream: s, reopen: func() (grpc.ClientStream, error) { return open(ctx, desc, cc, method, opts...) },
		ctx: ctx, method: method}, nil
}

type retryingStream struct {
	grpc.ClientStream
	reopen   func() (grpc.ClientStream, error)
	ctx      context.Context
	method   string
	req      any
	received bool
	retries  int
}

func (s *retryingStream) SendMsg(m any) error {
	s.req = m
	return s.ClientStream.SendMsg(m)
}

func (s *retryingStream) RecvMsg(m any) error {
	for {
		err := s.ClientStream.RecvMsg(m)
		if err == nil {
			s.received = true
			return nil
		}
		if s.received || s.req == nil {
			return err
		}
		wait, ok := retryWait(s.method, err, s.retries)
		if !ok || !sleep(s.ctx, wait) {
			return err
		}
		s.retries++
		next, openErr := s.reopen()
		if openErr != nil {
			return err
		}
		if sendErr := next.SendMsg(s.req); sendErr != nil {
			return err
		}
		if closeErr := next.CloseSend(); closeErr != nil {
			return err
		}
		s.ClientStream = next
	}
}
