package election

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	electionv1 "skiff.dev/api/election/v1"
)

// Local is a client of s that calls it in the caller's goroutine (the
// stream of Observe in one of its own), with the caller's context: no
// connection, no serialization, and the context's user is the one s
// authorizes. grpc-gateway's generated server form does not stream, so
// the gateway uses its client form over this.
func Local(s electionv1.ElectionServiceServer) electionv1.ElectionServiceClient {
	return local{s: s}
}

type local struct {
	s electionv1.ElectionServiceServer
}

func (l local) Grant(ctx context.Context, req *electionv1.GrantRequest, _ ...grpc.CallOption) (*electionv1.GrantResponse, error) {
	return l.s.Grant(ctx, req)
}

func (l local) KeepAlive(ctx context.Context, req *electionv1.KeepAliveRequest, _ ...grpc.CallOption) (*electionv1.KeepAliveResponse, error) {
	return l.s.KeepAlive(ctx, req)
}

func (l local) Campaign(ctx context.Context, req *electionv1.CampaignRequest, _ ...grpc.CallOption) (*electionv1.CampaignResponse, error) {
	return l.s.Campaign(ctx, req)
}

func (l local) Resign(ctx context.Context, req *electionv1.ResignRequest, _ ...grpc.CallOption) (*electionv1.ResignResponse, error) {
	return l.s.Resign(ctx, req)
}

func (l local) Leader(ctx context.Context, req *electionv1.LeaderRequest, _ ...grpc.CallOption) (*electionv1.LeaderResponse, error) {
	return l.s.Leader(ctx, req)
}

// Observe runs the server's Observe until ctx ends or it returns; each
// message it sends is handed over to Recv before its Send returns, so
// none is lost when it returns right after.
func (l local) Observe(ctx context.Context, req *electionv1.ObserveRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[electionv1.ObserveResponse], error) {
	p := &pipe{ctx: ctx, msgs: make(chan *electionv1.ObserveResponse), done: make(chan struct{})}
	go func() {
		p.err = l.s.Observe(req, (*pipeServer)(p))
		close(p.done)
	}()
	return (*pipeClient)(p), nil
}

// pipe joins the server's end of a stream to the client's.
type pipe struct {
	ctx  context.Context
	msgs chan *electionv1.ObserveResponse
	done chan struct{}
	err  error // the server's answer, set before done closes
}

// pipeServer is the server's end.
type pipeServer pipe

var errOneWay = errors.New("the stream carries messages from the server only")

func (p *pipeServer) Send(m *electionv1.ObserveResponse) error {
	select {
	case p.msgs <- m:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

func (p *pipeServer) Context() context.Context     { return p.ctx }
func (p *pipeServer) SetHeader(metadata.MD) error  { return nil }
func (p *pipeServer) SendHeader(metadata.MD) error { return nil }
func (p *pipeServer) SetTrailer(metadata.MD)       {}
func (p *pipeServer) SendMsg(m any) error {
	r, ok := m.(*electionv1.ObserveResponse)
	if !ok {
		return errOneWay
	}
	return p.Send(r)
}
func (p *pipeServer) RecvMsg(any) error { return errOneWay }

// pipeClient is the client's end.
type pipeClient pipe

// Recv answers the next message, then io.EOF once the server returned
// nil, or its error.
func (p *pipeClient) Recv() (*electionv1.ObserveResponse, error) {
	select {
	case m := <-p.msgs:
		return m, nil
	case <-p.done:
		if p.err != nil {
			return nil, p.err
		}
		return nil, io.EOF
	}
}

func (p *pipeClient) Header() (metadata.MD, error) { return metadata.MD{}, nil }
func (p *pipeClient) Trailer() metadata.MD         { return nil }
func (p *pipeClient) CloseSend() error             { return nil }
func (p *pipeClient) Context() context.Context     { return p.ctx }
func (p *pipeClient) SendMsg(any) error            { return errOneWay }
func (p *pipeClient) RecvMsg(m any) error {
	r, ok := m.(*electionv1.ObserveResponse)
	if !ok {
		return errOneWay
	}
	got, err := p.Recv()
	if err != nil {
		return err
	}
	proto.Reset(r)
	proto.Merge(r, got)
	return nil
}
