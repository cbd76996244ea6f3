package grpcapi

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// codes maps Kubernetes' HTTP codes to gRPC codes.
var codeOf = map[int32]codes.Code{
	400: codes.InvalidArgument,
	401: codes.Unauthenticated,
	403: codes.PermissionDenied,
	404: codes.NotFound,
	405: codes.Unimplemented,
	406: codes.InvalidArgument,
	409: codes.Aborted,
	410: codes.OutOfRange,
	413: codes.ResourceExhausted,
	415: codes.InvalidArgument,
	422: codes.InvalidArgument,
	429: codes.ResourceExhausted,
	500: codes.Internal,
	503: codes.Unavailable,
	504: codes.DeadlineExceeded,
}

// toStatus turns a registry error into a gRPC status whose details hold
// the Kubernetes Status; AlreadyExists keeps its own gRPC code. A request
// out of time or an etcd failure becomes its Status through
// apierrors.ToStatus (504 DeadlineExceeded, 503 Unavailable), never the
// raw error text.
func toStatus(err error) error {
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	st := apierrors.ToStatus(err)
	code, ok := codeOf[st.GetCode()]
	if !ok {
		code = codes.Unknown
	}
	if st.GetReason() == apierrors.ReasonAlreadyExists {
		code = codes.AlreadyExists
	}
	s, detailErr := status.New(code, st.GetMessage()).WithDetails(st)
	if detailErr != nil {
		return status.Error(code, st.GetMessage())
	}
	return s.Err()
}
