package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// TimeoutUnary bounds each unary call by the request timeout, as the REST
// face's rest.WithRequestTimeout does: the call's context ends after max
// (a client's shorter deadline stays), and a handler still running then
// is answered for with DeadlineExceeded carrying the 504 Timeout Status.
// longRunning names the methods (full names) that wait on purpose, such
// as an election campaign; streams (watches) are not unary and are not
// bounded. max <= 0 bounds nothing.
func TimeoutUnary(max time.Duration, longRunning ...string) grpc.UnaryServerInterceptor {
	exempt := make(map[string]bool, len(longRunning))
	for _, m := range longRunning {
		exempt[m] = true
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if max <= 0 || exempt[info.FullMethod] {
			return next(ctx, req)
		}
		ctx, cancel := context.WithTimeout(ctx, max)
		defer cancel()
		type result struct {
			resp any
			err  error
		}
		done := make(chan result, 1)
		go func() {
			var r result
			defer func() {
				if p := recover(); p != nil {
					r = result{err: panicError(info.FullMethod, p)}
				}
				done <- r
			}()
			r.resp, r.err = next(ctx, req)
		}()
		select {
		case r := <-done:
			return r.resp, r.err
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, status.Error(codes.Canceled, "the client cancelled the call")
			}
			go func() {
				r := <-done
				slog.WarnContext(ctx, "gRPC call finished after its timeout was answered", "method", info.FullMethod, "err", r.err)
			}()
			return nil, toStatus(apierrors.NewTimeout(apierrors.MessageRequestTimeout))
		}
	}
}
