package schedulerplugin

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	pluginv1 "skiff.dev/api/schedulerplugin/v1"
)

type labelled struct{ key string }

func (l labelled) Filter(_ context.Context, _ *corev1.Pod, nodes []*corev1.Node) ([]Rejection, error) {
	var out []Rejection
	for _, n := range nodes {
		if n.GetMetadata().GetLabels()[l.key] == "" {
			out = append(out, Rejection{Node: n.GetMetadata().GetName(), Reason: "node(s) lacked " + l.key})
		}
	}
	if l.key == "liar" {
		out = append(out, Rejection{Node: "not-a-candidate"})
	}
	return out, nil
}

func (labelled) Score(_ context.Context, _ *corev1.Pod, nodes []*corev1.Node) (map[string]int64, error) {
	out := map[string]int64{}
	for i, n := range nodes {
		out[n.GetMetadata().GetName()] = int64(10 * (i + 1))
	}
	return out, nil
}

func entry(id uint32, name string, labels map[string]string) *pluginv1.NodeEntry {
	return &pluginv1.NodeEntry{Id: id, Node: &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}}}
}

func TestServer(t *testing.T) {
	ctx := context.Background()
	if _, err := newServer("none", struct{}{}); err == nil {
		t.Fatal("a plugin with no extension point was accepted")
	}
	s, err := newServer("labelled", labelled{key: "gpu"})
	if err != nil {
		t.Fatal(err)
	}
	desc, _ := s.Describe(ctx, &pluginv1.DescribeRequest{})
	if len(desc.GetExtensionPoints()) != 2 {
		t.Fatalf("extension points: %v", desc.GetExtensionPoints())
	}
	if _, err := s.SyncNodes(ctx, &pluginv1.SyncNodesRequest{Reset_: true, Upserts: []*pluginv1.NodeEntry{
		entry(0, "a", map[string]string{"gpu": "yes"}), entry(1, "b", nil), entry(5, "c", nil),
	}}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Filter(ctx, &pluginv1.FilterRequest{Pod: &corev1.Pod{}, Nodes: []uint32{0, 1, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetRejections(); len(got) != 2 || got[0].GetNode() != 1 || got[1].GetNode() != 5 || got[0].GetReason() != "node(s) lacked gpu" {
		t.Fatalf("rejections: %v", got)
	}
	scores, err := s.Score(ctx, &pluginv1.ScoreRequest{Pod: &corev1.Pod{}, Nodes: []uint32{5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if got := scores.GetScores(); len(got) != 2 || got[0] != 10 || got[1] != 20 {
		t.Fatalf("scores must follow the request's order: %v", got)
	}
	if _, err := s.Permit(ctx, &pluginv1.PermitRequest{Node: 0}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("permit on a plugin without it: %v", err)
	}

	// Deleted, never-sent and absurd numbers are refused.
	if _, err := s.SyncNodes(ctx, &pluginv1.SyncNodesRequest{Deletes: []uint32{1}}); err != nil {
		t.Fatal(err)
	}
	for _, ids := range [][]uint32{{1}, {3}, {99}} {
		if _, err := s.Filter(ctx, &pluginv1.FilterRequest{Nodes: ids}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("filter on %v: %v", ids, err)
		}
	}
	if _, err := s.SyncNodes(ctx, &pluginv1.SyncNodesRequest{Upserts: []*pluginv1.NodeEntry{entry(1<<30, "x", nil)}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a huge node number: %v", err)
	}
	// A reset forgets everything.
	if _, err := s.SyncNodes(ctx, &pluginv1.SyncNodesRequest{Reset_: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Filter(ctx, &pluginv1.FilterRequest{Nodes: []uint32{0}}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("filter after reset: %v", err)
	}

	// A plugin that rejects a node it was not asked about is an error.
	liar, _ := newServer("liar", labelled{key: "liar"})
	if _, err := liar.SyncNodes(ctx, &pluginv1.SyncNodesRequest{Upserts: []*pluginv1.NodeEntry{entry(0, "a", nil)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := liar.Filter(ctx, &pluginv1.FilterRequest{Nodes: []uint32{0}}); status.Code(err) != codes.Internal {
		t.Fatalf("rejecting a stranger: %v", err)
	}
}
