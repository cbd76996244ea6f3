package storage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// errConflict is the apiserver's answer to a write of a stale version.
var errConflict = errors.New("conflict: the object has been modified")

// storeAPI writes PreBind's decisions into the store, as the apiserver
// and informers would (each write a new resourceVersion; a write of an
// older version a conflict), and records them.
type storeAPI struct {
	s        *Store
	mu       sync.Mutex
	rv       int
	bound    []string // volume=claim
	selected []string // claim=node
}

func (a *storeAPI) nextRV() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rv++
	return strconv.Itoa(1000 + a.rv)
}

func (a *storeAPI) BindVolume(_ context.Context, volume *Volume, c *corev1.PersistentVolumeClaim) error {
	v, _ := a.s.Volume(volume.Name)
	if v.ResourceVersion != volume.ResourceVersion {
		return errConflict
	}
	cp := *v
	cp.ClaimRef = &ClaimRef{Namespace: c.GetMetadata().GetNamespace(), Name: c.GetMetadata().GetName(), UID: c.GetMetadata().GetUid()}
	cp.ResourceVersion = a.nextRV()
	a.s.SetVolume(&cp)
	a.mu.Lock()
	a.bound = append(a.bound, volume.Name+"="+c.GetMetadata().GetName())
	a.mu.Unlock()
	return nil
}

func (a *storeAPI) SelectNode(_ context.Context, c *corev1.PersistentVolumeClaim, node string) (*corev1.PersistentVolumeClaim, error) {
	a.s.mu.RLock()
	cur := a.s.claims[ClaimKey(c.GetMetadata().GetNamespace(), c.GetMetadata().GetName())]
	a.s.mu.RUnlock()
	if cur.GetMetadata().GetResourceVersion() != c.GetMetadata().GetResourceVersion() {
		return nil, errConflict
	}
	cp := cloneClaim(c)
	cp.Metadata.Annotations[AnnSelectedNode] = node
	cp.Metadata.ResourceVersion = a.nextRV()
	a.s.SetClaim(cp)
	a.mu.Lock()
	a.selected = append(a.selected, c.GetMetadata().GetName()+"="+node)
	a.mu.Unlock()
	return cp, nil
}

// bindClaim plays the PV controller: the claim names the volume, is
// marked bind-completed and Bound, and the volume names the claim.
func bindClaim(s *Store, name, volume string) {
	cp := cloneClaim(storedClaim(s, name))
	cp.Spec.VolumeName = volume
	cp.Metadata.Annotations[AnnBindCompleted] = "yes"
	cp.Metadata.ResourceVersion = strconv.Itoa(2000 + len(volume))
	cp.Status.Phase = "Bound"
	if _, ok := s.Volume(volume); !ok {
		s.SetVolume(&Volume{Name: volume, ClassName: cp.GetSpec().GetStorageClassName(),
			ClaimRef: &ClaimRef{Namespace: "default", Name: name, UID: cp.GetMetadata().GetUid()}})
	}
	s.SetClaim(cp)
}

// storedClaim is the claim as the informer delivered it, not as assumed.
func storedClaim(s *Store, name string) *corev1.PersistentVolumeClaim {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.claims[ClaimKey("default", name)]
}

// goJoin runs f in a goroutine the test waits for before it ends; f's
// context should come from ctxTimeout called before goJoin, so that it is
// cancelled before the wait.
func goJoin(t *testing.T, f func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(wg.Wait)
	go func() { defer wg.Done(); f() }()
}

// schedule runs a cycle's PreFilter, Filter and Reserve for node-1.
func schedule(t *testing.T, pl *VolumeBinding, p *corev1.Pod) *framework.CycleState {
	t.Helper()
	n := localNode("node-1")
	state := framework.NewCycleState([]*framework.NodeInfo{n})
	ctx := context.Background()
	for _, st := range []*framework.Status{pl.PreFilter(ctx, state, p), pl.Filter(ctx, state, p, n), pl.Reserve(ctx, state, p, "node-1")} {
		if !st.IsSuccess() {
			t.Fatalf("cycle: %v", st)
		}
	}
	return state
}

func TestPreBindProvisionWaitsForBound(t *testing.T) {
	s := bindingStore()
	s.SetClaim(claim("data", wffc, ""))
	api := &storeAPI{s: s}
	pl := New(s, api, time.Minute).Binding
	p := pod("p", "data")
	state := schedule(t, pl, p)
	done := make(chan *framework.Status, 1)
	ctx := ctxTimeout(t)
	goJoin(t, func() { done <- pl.PreBind(ctx, state, p, "node-1") })
	// The claim gets the selected node; PreBind waits until it is Bound.
	if err := s.Wait(ctxTimeout(t), func() (bool, error) {
		c := storedClaim(s, "data")
		return c.GetMetadata().GetAnnotations()[AnnSelectedNode] == "node-1", nil
	}); err != nil {
		t.Fatalf("selected-node never set: %v", err)
	}
	select {
	case st := <-done:
		t.Fatalf("PreBind returned %v before the claim was bound", st)
	default:
	}
	bindClaim(s, "data", "pvc-data")
	if st := <-done; !st.IsSuccess() {
		t.Fatalf("PreBind: %v", st)
	}
}

func TestPreBindStaticVolume(t *testing.T) {
	s := bindingStore()
	s.SetClaim(claim("data", static, ""))
	s.SetVolume(&Volume{Name: "pv-1", ClassName: static, Capacity: 2 * gi, AccessModes: []string{"ReadWriteOnce"}, Phase: "Available"})
	api := &storeAPI{s: s}
	pl := New(s, api, time.Minute).Binding
	p := pod("p", "data")
	state := schedule(t, pl, p)
	// Assumed: another pod's claim cannot take pv-1 meanwhile.
	s.SetClaim(claim("other", static, ""))
	if st := runFilter(t, pl, pod("q", "other"), localNode("node-1")); st.IsSuccess() {
		t.Fatal("a second claim fitted the assumed volume")
	}
	ctx := ctxTimeout(t)
	goJoin(t, func() {
		_ = s.Wait(ctx, func() (bool, error) {
			v, _ := s.Volume("pv-1")
			return v.ClaimRef != nil, nil
		})
		bindClaim(s, "data", "pv-1")
	})
	if st := pl.PreBind(context.Background(), state, p, "node-1"); !st.IsSuccess() {
		t.Fatalf("PreBind: %v", st)
	}
	if len(api.bound) != 1 || api.bound[0] != "pv-1=data" || len(api.selected) != 0 {
		t.Fatalf("bound %v selected %v, want pv-1=data and none", api.bound, api.selected)
	}
}

func TestPreBindFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		act     func(s *Store)
		want    string
	}{
		{name: "timeout", timeout: 50 * time.Millisecond, act: func(*Store) {},
			want: "binding volumes: timed out waiting for the condition"},
		{name: "selected node reset", timeout: time.Minute, act: func(s *Store) {
			c, _ := s.Claim("default", "data")
			cp := proto.Clone(c).(*corev1.PersistentVolumeClaim)
			delete(cp.Metadata.Annotations, AnnSelectedNode)
			cp.Metadata.ResourceVersion = "5000"
			s.SetClaim(cp)
		}, want: `binding volumes: selectedNode annotation reset for PVC "data"`},
		{name: "volume of another node", timeout: time.Minute, act: func(s *Store) {
			s.SetVolume(&Volume{Name: "pv-x", ClassName: wffc, NodeAffinity: pinned(topoKey, "node-2"),
				ClaimRef: &ClaimRef{Namespace: "default", Name: "data", UID: "uid-data"}})
			bindClaim(s, "data", "pv-x")
		}, want: `binding volumes: pv "pv-x" node affinity doesn't match node "node-1"`},
		{name: "volume bound to an older claim of the name", timeout: 200 * time.Millisecond, act: func(s *Store) {
			s.SetVolume(&Volume{Name: "pv-x", ClassName: wffc, ClaimRef: &ClaimRef{Namespace: "default", Name: "data", UID: "old-uid"}})
			bindClaim(s, "data", "pv-x")
		}, want: "binding volumes: timed out waiting for the condition"},
		{name: "volume named without bind-completed", timeout: 200 * time.Millisecond, act: func(s *Store) {
			// One write: a bound claim on the way would let PreBind succeed.
			cp := cloneClaim(storedClaim(s, "data"))
			cp.Spec.VolumeName = "pv-x"
			cp.Metadata.ResourceVersion = "6000"
			cp.Status.Phase = "Bound"
			s.SetVolume(&Volume{Name: "pv-x", ClassName: wffc,
				ClaimRef: &ClaimRef{Namespace: "default", Name: "data", UID: cp.GetMetadata().GetUid()}})
			s.SetClaim(cp)
		}, want: "binding volumes: timed out waiting for the condition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindingStore()
			s.SetClaim(claim("data", wffc, ""))
			pl := New(s, &storeAPI{s: s}, tc.timeout).Binding
			p := pod("p", "data")
			state := schedule(t, pl, p)
			ctx := ctxTimeout(t)
			goJoin(t, func() {
				_ = s.Wait(ctx, func() (bool, error) {
					c := storedClaim(s, "data")
					return c.GetMetadata().GetAnnotations()[AnnSelectedNode] != "", nil
				})
				tc.act(s)
			})
			st := pl.PreBind(context.Background(), state, p, "node-1")
			if st.IsSuccess() || !strings.Contains(st.Message(), tc.want) {
				t.Fatalf("PreBind: %v, want %q", st, tc.want)
			}
		})
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cloneClaim(c *corev1.PersistentVolumeClaim) *corev1.PersistentVolumeClaim {
	cp := proto.Clone(c).(*corev1.PersistentVolumeClaim)
	if cp.Metadata.Annotations == nil {
		cp.Metadata.Annotations = map[string]string{}
	}
	return cp
}

// scheduleOn runs PreFilter, Filter on every node, and Reserve on node;
// it returns the state and each node's Filter status.
func scheduleOn(t *testing.T, pl *VolumeBinding, p *corev1.Pod, node string, nodes ...*framework.NodeInfo) (*framework.CycleState, map[string]*framework.Status) {
	t.Helper()
	state := framework.NewCycleState(nodes)
	ctx := context.Background()
	if st := pl.PreFilter(ctx, state, p); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st)
	}
	filtered := map[string]*framework.Status{}
	for _, n := range nodes {
		filtered[n.Name()] = pl.Filter(ctx, state, p, n)
	}
	if st := pl.Reserve(ctx, state, p, node); !st.IsSuccess() {
		t.Fatalf("Reserve on %s: %v", node, st)
	}
	return state, filtered
}

// Two pods of one WaitForFirstConsumer claim: once the first reserved
// node-1, the second fits only node-1, even before PreBind wrote the
// selected node, and its Unreserve does not drop the first one's hold.
func TestSharedClaimFollowsTheFirstPodsNode(t *testing.T) {
	s := bindingStore()
	s.SetClaim(claim("data", wffc, ""))
	pl := New(s, &storeAPI{s: s}, time.Minute).Binding
	n1, n2 := localNode("node-1"), localNode("node-2")
	p1, p2 := pod("p1", "data"), pod("p2", "data")
	scheduleOn(t, pl, p1, "node-2", n1, n2)
	state2, filtered := scheduleOn(t, pl, p2, "node-2", n1, n2)
	wantStatus(t, filtered["node-1"], framework.UnschedulableAndUnresolvable, ReasonBindConflict)
	wantStatus(t, filtered["node-2"], 0, "")
	pl.Unreserve(context.Background(), state2, p2, "node-2")
	if c, _ := s.Claim("default", "data"); c.GetMetadata().GetAnnotations()[AnnSelectedNode] != "node-2" {
		t.Fatalf("p2's Unreserve dropped p1's assumed claim: %v", c.GetMetadata().GetAnnotations())
	}
}

// A static volume two pods of one claim chose stays held until both let go.
func TestVolumeHoldPerPod(t *testing.T) {
	s := NewStore()
	s.AssumeVolume("pv-1", "default/data", "uid-p1")
	s.AssumeVolume("pv-1", "default/data", "uid-p2")
	s.ForgetVolume("pv-1", "uid-p2")
	if !s.assumedFor("pv-1", "default/data") {
		t.Fatal("p2's forget dropped p1's hold")
	}
	s.ForgetVolume("pv-1", "uid-p1")
	if s.assumedFor("pv-1", "default/data") {
		t.Fatal("hold kept after both pods let go")
	}
}

// A claim or volume changed after the decision: PreBind's write conflicts
// and PreBind fails rather than overwrite.
func TestPreBindConflictOnStaleObject(t *testing.T) {
	for _, tc := range []struct {
		name   string
		class  string
		change func(s *Store)
	}{
		{name: "claim given another node", class: wffc, change: func(s *Store) {
			c := cloneClaim(claim("data", wffc, ""))
			c.Metadata.Annotations[AnnSelectedNode] = "node-2"
			c.Metadata.ResourceVersion = "7"
			s.SetClaim(c)
		}},
		{name: "volume changed", class: static, change: func(s *Store) {
			v, _ := s.Volume("pv-1")
			cp := *v
			cp.ResourceVersion = "7"
			s.SetVolume(&cp)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindingStore()
			s.SetClaim(claim("data", tc.class, ""))
			s.SetVolume(&Volume{Name: "pv-1", ClassName: static, Capacity: 2 * gi, AccessModes: []string{"ReadWriteOnce"}, Phase: "Available", ResourceVersion: "5"})
			api := &storeAPI{s: s}
			pl := New(s, api, time.Minute).Binding
			p := pod("p", "data")
			state := schedule(t, pl, p)
			tc.change(s)
			st := pl.PreBind(ctxTimeout(t), state, p, "node-1")
			if st.IsSuccess() || !strings.Contains(st.Message(), errConflict.Error()) {
				t.Fatalf("PreBind: %v, want a conflict", st)
			}
			if len(api.selected)+len(api.bound) != 0 {
				t.Fatalf("wrote %v %v despite the conflict", api.selected, api.bound)
			}
		})
	}
}
