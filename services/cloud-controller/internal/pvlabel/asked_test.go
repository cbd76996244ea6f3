package pvlabel

import (
	"context"
	"strconv"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/client"
	"skiff.dev/pkg/informer"
)

// The provider is asked once per volume and pinned Node: again only when
// the Node turns up or changes, or the volume was deleted.
func TestAskedOncePerVolumeAndNode(t *testing.T) {
	var a asked
	steps := []struct {
		op        string // ask (done, then record when not), forget
		uid, node string
		wantAsk   bool
	}{
		{op: "ask", uid: "u1", wantAsk: true},
		{op: "ask", uid: "u1", wantAsk: false},
		{op: "ask", uid: "u1", node: "node-a", wantAsk: true},
		{op: "ask", uid: "u1", node: "node-a", wantAsk: false},
		{op: "ask", uid: "u2", node: "node-a", wantAsk: true},
		{op: "forget", uid: "u1"},
		{op: "ask", uid: "u1", node: "node-a", wantAsk: true},
	}
	for i, s := range steps {
		if s.op == "forget" {
			a.forget(s.uid)
			continue
		}
		if ask := !a.done(s.uid, s.node); ask != s.wantAsk {
			t.Errorf("step %d: ask %v, want %v", i, ask, s.wantAsk)
		}
		a.record(s.uid, s.node)
	}
}

// source is an informer source whose watch gives what the test sends.
type source struct {
	events chan client.Event[*corev1.PersistentVolume]
}

func (s source) List(context.Context, client.ListOptions) ([]*corev1.PersistentVolume, string, error) {
	return nil, "1", nil
}

func (s source) Watch(context.Context, client.ListOptions) (client.Watcher[*corev1.PersistentVolume], error) {
	return watcher(s), nil
}

type watcher source

func (w watcher) ResultChan() <-chan client.Event[*corev1.PersistentVolume] { return w.events }
func (w watcher) Stop()                                                     {}

// noLabels is a provider that has no labels for any volume.
type noLabels struct{}

func (noLabels) GetVolumeLabels(context.Context, *corev1.PersistentVolume, *corev1.Node) (map[string]string, error) {
	return nil, nil
}

// A new leadership term resets what was asked while the informer's
// delete handler, which runs from process start, reads it (go test
// -race flags a term replacing it).
func TestTermsAndDeletesDoNotRace(t *testing.T) {
	src := source{events: make(chan client.Event[*corev1.PersistentVolume])}
	volumes := informer.New[*corev1.PersistentVolume](src, informer.Options[*corev1.PersistentVolume]{})
	nodes := informer.New[*corev1.Node](nil, informer.Options[*corev1.Node]{})
	c := New(Config{Volumes: volumes, Nodes: nodes})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = volumes.Start(ctx) }()
	pv := func(uid, rv string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv-" + uid, Uid: uid, ResourceVersion: rv}}
	}
	ended, stop := context.WithCancel(context.Background())
	stop() // each term ends at once: only its start matters here
	for i := range 20 {
		uid := strconv.Itoa(i)
		c.asked.record("x", "")
		src.events <- client.Event[*corev1.PersistentVolume]{Type: client.Added, Object: pv(uid, strconv.Itoa(2*i+2))}
		src.events <- client.Event[*corev1.PersistentVolume]{Type: client.Deleted, Object: pv(uid, strconv.Itoa(2*i+3))}
		_ = c.Run(ended, noLabels{}) // while the informer runs the delete handler
	}
	if c.asked.done("x", "") {
		t.Error("a new term kept what the last one asked")
	}
}
