package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// panicError is what a call that panicked answers: codes.Internal, as
// kube-apiserver answers 500 for a handler that panics, while the server
// goes on serving the other calls. The stack goes to the log.
func panicError(method string, p any) error {
	slog.Error("gRPC handler panicked", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "APIServer panic'd: %v", p)
}

// RecoverUnary turns a panic in a unary call into an Internal error
// instead of a crashed apiserver; it goes first in the chain so it covers
// the other interceptors too.
func RecoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, panicError(info.FullMethod, p)
		}
	}()
	return next(ctx, req)
}

// RecoverStream is RecoverUnary for streams (watches).
func RecoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError(info.FullMethod, p)
		}
	}()
	return next(srv, ss)
}
