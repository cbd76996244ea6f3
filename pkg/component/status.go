package component

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	componentv1 "skiff.dev/api/component/v1"
	"skiff.dev/pkg/healthz"
)

// Status answers the ComponentStatusService: what /statusz, /flagz and
// /configz show, over gRPC and, through grpc-gateway, as JSON.
type Status struct {
	componentv1.UnimplementedComponentStatusServiceServer

	name    string
	started time.Time
	flags   func() map[string]string
	// election is nil for a component that runs no election.
	election *LeaderElection
	config   any
	leading  atomic.Bool

	mu     sync.Mutex
	caches []Cache
}

var _ componentv1.ComponentStatusServiceServer = (*Status)(nil)

// NewStatus describes the component name running with opts; config is
// the component's whole options, shown by /configz as JSON; caches are
// what /readyz and /statusz report ready.
func NewStatus(name string, opts *Options, config any, caches []Cache) *Status {
	return &Status{name: name, started: time.Now(), flags: opts.Flags, election: &opts.LeaderElection, config: config, caches: caches}
}

// NewNodeStatus describes a component that runs on every node without an
// election (kubelet, proxy): flags are its flags' values in use
// (FlagValues), config its whole options. Its caches are added with
// AddCaches as it makes them.
func NewNodeStatus(name string, flags func() map[string]string, config any) *Status {
	return &Status{name: name, started: time.Now(), flags: flags, config: config}
}

// AddCaches adds caches that must be ready too.
func (s *Status) AddCaches(caches ...Cache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caches = append(s.caches, caches...)
}

// ReadyCheck is the "informer-sync" check of /readyz: Ready.
func (s *Status) ReadyCheck() healthz.Check {
	return healthz.Check{Name: "informer-sync", Run: s.Ready}
}

// Ready is nil once every cache has synced and while lists work.
func (s *Status) Ready() error {
	s.mu.Lock()
	caches := s.caches
	s.mu.Unlock()
	for _, c := range caches {
		if err := c.Ready(); err != nil {
			return err
		}
	}
	return nil
}

// SetLeading records whether this replica leads.
func (s *Status) SetLeading(leading bool) { s.leading.Store(leading) }

// Statusz answers the component's name, version, start, readiness and
// leader state (none without an election).
func (s *Status) Statusz(context.Context, *componentv1.StatuszRequest) (*componentv1.StatuszResponse, error) {
	r := &componentv1.StatuszResponse{
		Component: s.name, Version: version(), GoVersion: runtime.Version(),
		StartTime: timestamppb.New(s.started), Ready: true,
	}
	if le := s.election; le != nil {
		r.LeaderElection = &componentv1.LeaderElectionStatus{Enabled: le.LeaderElect, Election: le.ResourceName,
			Identity: le.Identity, Leading: s.leading.Load()}
	}
	if err := s.Ready(); err != nil {
		r.Ready, r.NotReadyReason = false, err.Error()
	}
	return r, nil
}

// Flagz answers every flag's value in use.
func (s *Status) Flagz(context.Context, *componentv1.FlagzRequest) (*componentv1.FlagzResponse, error) {
	return &componentv1.FlagzResponse{Component: s.name, Flags: s.flags()}, nil
}

// Configz answers the component's options as JSON.
func (s *Status) Configz(context.Context, *componentv1.ConfigzRequest) (*componentv1.ConfigzResponse, error) {
	b, err := json.Marshal(s.config)
	if err != nil {
		return nil, fmt.Errorf("encode the configuration: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode the configuration: %w", err)
	}
	config, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("configuration as a Struct: %w", err)
	}
	return &componentv1.ConfigzResponse{Component: s.name, Config: config}, nil
}

// version is the main module's version from the build information.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
