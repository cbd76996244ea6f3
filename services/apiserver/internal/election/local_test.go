package election

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	electionv1 "skiff.dev/api/election/v1"
)

// scripted observes by sending the identities it was given, then
// answering end.
type scripted struct {
	electionv1.UnimplementedElectionServiceServer
	leaders []string
	end     error
}

func (s scripted) Observe(_ *electionv1.ObserveRequest, stream grpc.ServerStreamingServer[electionv1.ObserveResponse]) error {
	for i, l := range s.leaders {
		if err := stream.Send(&electionv1.ObserveResponse{Identity: l, Revision: int64(i + 1)}); err != nil {
			return err
		}
	}
	return s.end
}

// TestLocalObserve: the in-process stream hands over every message the
// server sent, even when it returns right after, then io.EOF or the
// server's error.
func TestLocalObserve(t *testing.T) {
	denied := status.Error(codes.PermissionDenied, "forbidden")
	for _, tc := range []struct {
		name    string
		leaders []string
		end     error
		wantErr error
	}{
		{name: "ends", leaders: []string{"a", "", "b"}, wantErr: io.EOF},
		{name: "fails after sending", leaders: []string{"a"}, end: denied, wantErr: denied},
		{name: "fails at once", end: denied, wantErr: denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := Local(scripted{leaders: tc.leaders, end: tc.end}).Observe(context.Background(), &electionv1.ObserveRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tc.leaders {
				got, err := stream.Recv()
				if err != nil || got.GetIdentity() != want || got.GetRevision() != int64(i+1) {
					t.Fatalf("message %d: %v, %v; want %q", i, got, err, want)
				}
			}
			if _, err := stream.Recv(); !errors.Is(err, tc.wantErr) {
				t.Errorf("after the messages: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// blocked observes until its stream's context ends.
type blocked struct {
	electionv1.UnimplementedElectionServiceServer
	ended chan error
}

func (b blocked) Observe(_ *electionv1.ObserveRequest, stream grpc.ServerStreamingServer[electionv1.ObserveResponse]) error {
	err := stream.Send(&electionv1.ObserveResponse{Identity: "nobody reads this"})
	b.ended <- err
	return err
}

// TestLocalObserveCancel: once the client's context ends, the server's
// Send returns instead of waiting for a reader forever.
func TestLocalObserveCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := blocked{ended: make(chan error, 1)}
	if _, err := Local(b).Observe(ctx, &electionv1.ObserveRequest{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-b.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("Send after cancel: %v, want context.Canceled", err)
	}
}
