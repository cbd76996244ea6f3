// Package election is the apiserver's election service: leader election
// for the replicas of a component on etcd leases. Candidates keep their
// leases alive through any apiserver replica; the leader is the candidate
// whose key in the election was created first; the holder is mirrored
// into a coordination.k8s.io/v1 Lease in kube-system.
package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/apimachinery/pkg/util/validation"

	coordinationv1 "skiff.dev/api/coordination/v1"
	electionv1 "skiff.dev/api/election/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/authorizer"
	"skiff.dev/services/apiserver/internal/registry"
)

// Namespace holds the mirrored Leases of the calls that name none.
const Namespace = "kube-system"

// ref names one election: its namespace and name.
type ref struct{ ns, name string }

// namespaceOf checks a call's namespace; empty is Namespace.
func namespaceOf(namespace string) (string, error) {
	if namespace == "" {
		return Namespace, nil
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return "", status.Errorf(codes.InvalidArgument, "namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	return namespace, nil
}

// refOf checks a call's namespace and election name.
func refOf(namespace, election string) (ref, error) {
	ns, err := namespaceOf(namespace)
	if err != nil {
		return ref{}, err
	}
	if err := checkElection(election); err != nil {
		return ref{}, err
	}
	return ref{ns: ns, name: election}, nil
}

// Server implements the election service.
type Server struct {
	electionv1.UnimplementedElectionServiceServer
	etcd   *clientv3.Client
	leases registry.Backend
	az     authorizer.Authorizer
	now    func() time.Time
}

// New serves elections over etcd, mirroring holders into leases. Calls are
// authorized by az as the same acts on the mirrored Lease, in the call's
// namespace (kube-system unless it names one): granting a lease is
// creating one; campaigning, keeping alive and resigning are updating the
// election's Lease; reading the leader is getting it; observing is
// watching it.
func New(etcd *clientv3.Client, leases registry.Backend, az authorizer.Authorizer) *Server {
	return &Server{etcd: etcd, leases: leases, az: az, now: time.Now}
}

// allowed checks the caller may act on the election's Lease.
func (s *Server) allowed(ctx context.Context, verb string, e ref) error {
	attrs := authorizer.ResourceRequest(verb, "coordination.k8s.io", "v1", "leases", "", e.ns, e.name)
	if err := authorizer.Check(ctx, s.az, attrs); err != nil {
		return status.Error(codes.PermissionDenied, apierrors.ToStatus(err).GetMessage())
	}
	return nil
}

// Register adds the service to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) { electionv1.RegisterElectionServiceServer(g, s) }

// LongRunningMethods are the unary methods that wait on purpose (a
// campaign waits until it leads), which the request timeout leaves alone.
var LongRunningMethods = []string{electionv1.ElectionService_Campaign_FullMethodName}

// prefix holds an election's candidates: kube-system's under
// /skiff/election/, as before namespaces could be named, the others' under
// /skiff/election-ns/<namespace>/.
func prefix(e ref) string {
	if e.ns == Namespace {
		return "/skiff/election/" + e.name + "/"
	}
	return "/skiff/election-ns/" + e.ns + "/" + e.name + "/"
}

func keyOf(e ref, lease int64) string {
	return fmt.Sprintf("%s%016x", prefix(e), lease)
}

func checkElection(name string) error {
	if name == "" || len(name) > 253 {
		return status.Error(codes.InvalidArgument, "election must be a Lease name of 1 to 253 characters")
	}
	return nil
}

// Grant creates a lease.
func (s *Server) Grant(ctx context.Context, req *electionv1.GrantRequest) (*electionv1.GrantResponse, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if err := s.allowed(ctx, "create", ref{ns: ns}); err != nil {
		return nil, err
	}
	if req.GetLeaseSeconds() < 1 {
		return nil, status.Error(codes.InvalidArgument, "lease_seconds must be at least 1")
	}
	resp, err := s.etcd.Grant(ctx, req.GetLeaseSeconds())
	if err != nil {
		return nil, etcdError("grant lease", err)
	}
	return &electionv1.GrantResponse{LeaseId: int64(resp.ID), TtlSeconds: resp.TTL}, nil
}

// KeepAlive renews a lease and, for the current leader, the mirrored
// Lease's renewTime.
func (s *Server) KeepAlive(ctx context.Context, req *electionv1.KeepAliveRequest) (*electionv1.KeepAliveResponse, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	e := ref{ns: ns, name: req.GetElection()} // the election may be unnamed
	if err := s.allowed(ctx, "update", e); err != nil {
		return nil, err
	}
	resp, err := s.etcd.KeepAliveOnce(ctx, clientv3.LeaseID(req.GetLeaseId()))
	if err != nil {
		return nil, etcdError("keep lease alive", err)
	}
	if req.GetElection() != "" && req.GetIdentity() != "" {
		leader, _, err := s.leader(ctx, e)
		if err == nil && leader == req.GetIdentity() {
			s.mirror(ctx, e, req.GetIdentity(), resp.TTL, false)
		}
	}
	return &electionv1.KeepAliveResponse{TtlSeconds: resp.TTL}, nil
}

// Campaign waits until the candidate leads.
func (s *Server) Campaign(ctx context.Context, req *electionv1.CampaignRequest) (*electionv1.CampaignResponse, error) {
	e, err := refOf(req.GetNamespace(), req.GetElection())
	if err != nil {
		return nil, err
	}
	if err := s.allowed(ctx, "update", e); err != nil {
		return nil, err
	}
	lease := clientv3.LeaseID(req.GetLeaseId())
	key := keyOf(e, req.GetLeaseId())
	txn, err := s.etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, req.GetIdentity(), clientv3.WithLease(lease))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return nil, etcdError("enter election", err)
	}
	myRev := txn.Header.Revision
	if !txn.Succeeded {
		myRev = txn.Responses[0].GetResponseRange().Kvs[0].CreateRevision
	}
	if err := s.waitForTurn(ctx, e, key, myRev); err != nil {
		if ctx.Err() != nil {
			// The candidate went away: leave, so it never leads unseen.
			_, _ = s.etcd.Delete(context.WithoutCancel(ctx), key)
		}
		return nil, err
	}
	ttl, err := s.etcd.TimeToLive(ctx, lease)
	if err != nil {
		return nil, etcdError("read lease", err)
	}
	s.mirror(ctx, e, req.GetIdentity(), ttl.GrantedTTL, true)
	return &electionv1.CampaignResponse{Revision: myRev}, nil
}

// waitForTurn returns once no key older than ours is left.
func (s *Server) waitForTurn(ctx context.Context, election ref, key string, myRev int64) error {
	for {
		opts := append([]clientv3.OpOption{clientv3.WithMaxCreateRev(myRev - 1)}, clientv3.WithLastCreate()...)
		resp, err := s.etcd.Get(ctx, prefix(election), opts...)
		if err != nil {
			return etcdError("read election", err)
		}
		if len(resp.Kvs) == 0 {
			mine, err := s.etcd.Get(ctx, key)
			if err != nil {
				return etcdError("read candidacy", err)
			}
			if len(mine.Kvs) == 0 {
				return status.Error(codes.FailedPrecondition, "the lease expired before the candidate could lead")
			}
			return nil
		}
		ahead := string(resp.Kvs[0].Key)
		wctx, cancel := context.WithCancel(ctx)
		wch := s.etcd.Watch(wctx, ahead, clientv3.WithRev(resp.Header.Revision+1))
		deleted := false
		for wr := range wch {
			if err := wr.Err(); err != nil {
				cancel()
				return etcdError("watch election", err)
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					deleted = true
				}
			}
			if deleted {
				break
			}
		}
		cancel()
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// Resign leaves the election and revokes the lease.
func (s *Server) Resign(ctx context.Context, req *electionv1.ResignRequest) (*electionv1.ResignResponse, error) {
	e, err := refOf(req.GetNamespace(), req.GetElection())
	if err != nil {
		return nil, err
	}
	if err := s.allowed(ctx, "update", e); err != nil {
		return nil, err
	}
	key := keyOf(e, req.GetLeaseId())
	leader, _, _ := s.leader(ctx, e)
	mine, err := s.etcd.Get(ctx, key)
	if err != nil {
		return nil, etcdError("read candidacy", err)
	}
	if _, err := s.etcd.Revoke(ctx, clientv3.LeaseID(req.GetLeaseId())); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return nil, etcdError("revoke lease", err)
	}
	if len(mine.Kvs) > 0 && string(mine.Kvs[0].Value) == leader && leader != "" {
		s.release(ctx, e, leader)
	}
	return &electionv1.ResignResponse{}, nil
}

// leader is the identity whose key was created first.
func (s *Server) leader(ctx context.Context, election ref) (string, int64, error) {
	resp, err := s.etcd.Get(ctx, prefix(election), clientv3.WithFirstCreate()...)
	if err != nil {
		return "", 0, err
	}
	if len(resp.Kvs) == 0 {
		return "", resp.Header.Revision, nil
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].CreateRevision, nil
}

// Leader answers the current leader once.
func (s *Server) Leader(ctx context.Context, req *electionv1.LeaderRequest) (*electionv1.LeaderResponse, error) {
	e, err := refOf(req.GetNamespace(), req.GetElection())
	if err != nil {
		return nil, err
	}
	if err := s.allowed(ctx, "get", e); err != nil {
		return nil, err
	}
	leader, rev, err := s.leader(ctx, e)
	if err != nil {
		return nil, etcdError("read election", err)
	}
	return &electionv1.LeaderResponse{Identity: leader, Revision: rev}, nil
}

// Observe streams the leader whenever it changes.
func (s *Server) Observe(req *electionv1.ObserveRequest, stream grpc.ServerStreamingServer[electionv1.ObserveResponse]) error {
	e, err := refOf(req.GetNamespace(), req.GetElection())
	if err != nil {
		return err
	}
	if err := s.allowed(stream.Context(), "watch", e); err != nil {
		return err
	}
	ctx := stream.Context()
	last := "\x00"
	wch := s.etcd.Watch(ctx, prefix(e), clientv3.WithPrefix())
	for {
		leader, rev, err := s.leader(ctx, e)
		if err != nil {
			return etcdError("read election", err)
		}
		if leader != last {
			last = leader
			if err := stream.Send(&electionv1.ObserveResponse{Identity: leader, Revision: rev}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				return status.Error(codes.Unavailable, "election watch ended")
			}
		}
	}
}

// mirror writes the holder into the election's Lease; acquired marks a
// new term.
func (s *Server) mirror(ctx context.Context, election ref, identity string, ttl int64, acquired bool) {
	now := timestamppb.New(s.now())
	for attempt := 0; attempt < 3; attempt++ {
		obj, err := s.leases.Get(ctx, election.ns, election.name, registry.GetOptions{})
		if apierrors.IsNotFound(err) {
			l := &coordinationv1.Lease{Metadata: &metav1.ObjectMeta{Name: election.name, Namespace: election.ns},
				Spec: &coordinationv1.LeaseSpec{HolderIdentity: proto.String(identity), LeaseDurationSeconds: proto.Int32(int32(ttl)),
					AcquireTime: now, RenewTime: now, LeaseTransitions: proto.Int32(0)}}
			if _, err = s.leases.Create(ctx, l, registry.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
				s.logMirror(ctx, election, err)
				return
			}
			continue
		}
		if err != nil {
			s.logMirror(ctx, election, err)
			return
		}
		l := proto.Clone(obj).(*coordinationv1.Lease)
		if l.Spec == nil {
			l.Spec = &coordinationv1.LeaseSpec{}
		}
		if acquired && l.GetSpec().GetHolderIdentity() != identity {
			l.Spec.LeaseTransitions = proto.Int32(l.GetSpec().GetLeaseTransitions() + 1)
		}
		if acquired {
			l.Spec.AcquireTime = now
		}
		l.Spec.HolderIdentity = proto.String(identity)
		l.Spec.LeaseDurationSeconds = proto.Int32(int32(ttl))
		l.Spec.RenewTime = now
		_, err = s.leases.Update(ctx, l, registry.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			s.logMirror(ctx, election, err)
			return
		}
	}
}

// release clears the holder of the mirrored Lease, as Kubernetes' leader
// election does when a leader steps down.
func (s *Server) release(ctx context.Context, election ref, identity string) {
	obj, err := s.leases.Get(ctx, election.ns, election.name, registry.GetOptions{})
	if err != nil {
		return
	}
	l := proto.Clone(obj).(*coordinationv1.Lease)
	if l.GetSpec().GetHolderIdentity() != identity {
		return
	}
	l.Spec.HolderIdentity = proto.String("")
	l.Spec.LeaseDurationSeconds = proto.Int32(1)
	_, err = s.leases.Update(ctx, l, registry.UpdateOptions{})
	s.logMirror(ctx, election, err)
}

func (s *Server) logMirror(ctx context.Context, election ref, err error) {
	if err != nil {
		slog.WarnContext(ctx, "mirror election into lease failed", "namespace", election.ns, "election", election.name, "err", err)
	}
}

// etcdError turns an etcd error into a gRPC status.
func etcdError(what string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return status.Errorf(codes.NotFound, "%s: the lease has expired", what)
	}
	return status.Errorf(codes.Unavailable, "%s: %v", what, err)
}
