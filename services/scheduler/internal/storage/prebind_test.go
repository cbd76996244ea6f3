package storage

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// storeAPI writes PreBind's decisions into the store, as the apiserver
// and informers would, and records them.
type storeAPI struct {
	s        *Store
	mu       sync.Mutex
	bound    []string // volume=claim
	selected []string // claim=node
}

func (a *storeAPI) BindVolume(_ context.Context, volume string, c *corev1.PersistentVolumeClaim) error {
	v, _ := a.s.Volume(volume)
	cp := *v
	cp.ClaimRef = &ClaimRef{Namespace: c.GetMetadata().GetNamespace(), Name: c.GetMetadata().GetName(), UID: c.GetMetadata().GetUid()}
	a.s.SetVolume(&cp)
	a.mu.Lock()
	a.bound = append(a.bound, volume+"="+c.GetMetadata().GetName())
	a.mu.Unlock()
	return nil
}

func (a *storeAPI) SelectNode(_ context.Context, c *corev1.PersistentVolumeClaim, node string) error {
	cp := cloneClaim(c)
	cp.Metadata.Annotations[AnnSelectedNode] = node
	a.s.SetClaim(cp)
	a.mu.Lock()
	a.selected = append(a.selected, c.GetMetadata().GetName()+"="+node)
	a.mu.Unlock()
	return nil
}

// bindClaim plays the PV controller: the claim names the volume, is
// marked bind-completed and Bound.
func bindClaim(s *Store, name, volume string) {
	c, _ := s.Claim("default", name)
	cp := cloneClaim(c)
	cp.Spec.VolumeName = volume
	cp.Metadata.Annotations[AnnBindCompleted] = "yes"
	cp.Status.Phase = "Bound"
	if _, ok := s.Volume(volume); !ok {
		s.SetVolume(&Volume{Name: volume, ClassName: cp.GetSpec().GetStorageClassName(),
			ClaimRef: &ClaimRef{Namespace: "default", Name: name}})
	}
	s.SetClaim(cp)
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
	go func() { done <- pl.PreBind(context.Background(), state, p, "node-1") }()
	// The claim gets the selected node; PreBind waits until it is Bound.
	if err := s.Wait(ctxTimeout(t), func() (bool, error) {
		c, _ := s.Claim("default", "data")
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
	go func() {
		_ = s.Wait(ctxTimeout(t), func() (bool, error) {
			v, _ := s.Volume("pv-1")
			return v.ClaimRef != nil, nil
		})
		bindClaim(s, "data", "pv-1")
	}()
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
			s.SetClaim(cp)
		}, want: `binding volumes: selectedNode annotation reset for PVC "data"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := bindingStore()
			s.SetClaim(claim("data", wffc, ""))
			pl := New(s, &storeAPI{s: s}, tc.timeout).Binding
			p := pod("p", "data")
			state := schedule(t, pl, p)
			go func() {
				_ = s.Wait(ctxTimeout(t), func() (bool, error) {
					c, _ := s.Claim("default", "data")
					return c.GetMetadata().GetAnnotations()[AnnSelectedNode] != "", nil
				})
				tc.act(s)
			}()
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
