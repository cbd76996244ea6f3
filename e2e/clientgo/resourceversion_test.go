package clientgo

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"skiff.dev/e2e/framework"
)

// rvWant is the answer a read should get: 200 (code 0), or a Status
// with its code, reason and, when set, one cause's type and field.
type rvWant struct {
	code      int32
	reason    metav1.StatusReason
	causeType metav1.CauseType
	field     string
}

var (
	ok          = rvWant{}
	tooLarge    = rvWant{504, metav1.StatusReasonTimeout, metav1.CauseTypeResourceVersionTooLarge, ""}
	badRequest  = rvWant{code: 400, reason: metav1.StatusReasonBadRequest}
	forbidMatch = rvWant{422, metav1.StatusReasonInvalid, metav1.CauseType("FieldValueForbidden"), "resourceVersionMatch"}
)

// check compares err (nil for 200) with want.
func (want rvWant) check(t *testing.T, err error) {
	t.Helper()
	if want.code == 0 {
		if err != nil {
			t.Fatalf("got %v, want 200", err)
		}
		return
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		t.Fatalf("got %v, want a %d Status", err, want.code)
	}
	want.checkStatus(t, status.Status())
}

func (want rvWant) checkStatus(t *testing.T, st metav1.Status) {
	t.Helper()
	if st.Code != want.code || st.Reason != want.reason {
		t.Fatalf("got %d %s %q, want %d %s", st.Code, st.Reason, st.Message, want.code, want.reason)
	}
	if want.causeType == "" {
		return
	}
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			if c.Type == want.causeType && c.Field == want.field {
				return
			}
		}
	}
	t.Fatalf("got causes %+v in %q, want %s on %q", st.Details, st.Message, want.causeType, want.field)
}

// TestResourceVersionSemantics reads ConfigMaps through client-go with
// every resourceVersion, resourceVersionMatch, limit/continue and
// sendInitialEvents combination Kubernetes documents, and checks the
// answers' codes, reasons and causes, and what the reads return.
func TestResourceVersionSemantics(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t)
	cs, err := kubernetes.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rv-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	cms := cs.CoreV1().ConfigMaps(ns.Name)
	var created []*corev1.ConfigMap
	for _, name := range []string{"a", "b"} {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, cm)
	}
	rvA := created[0].ResourceVersion
	future := strconv.FormatUint(mustUint(t, created[1].ResourceVersion)+1_000_000, 10)
	page, err := cms.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || page.Continue == "" {
		t.Fatalf("got %v, %v, want a first page of one", page, err)
	}
	t.Run("list", func(t *testing.T) { listCases(ctx, t, cs, ns.Name, rvA, future, page) })
	t.Run("get", func(t *testing.T) { getCases(ctx, t, cs, ns.Name, rvA, future) })
	t.Run("watch", func(t *testing.T) { watchCases(ctx, t, cs, ns.Name, rvA, future) })
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawList lists without client-go's retries: a 504 with Retry-After would
// otherwise be retried ten times.
func rawList(ctx context.Context, cs *kubernetes.Clientset, ns string, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	out := &corev1.ConfigMapList{}
	err := cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("configmaps").
		VersionedParams(&opts, scheme.ParameterCodec).MaxRetries(0).Do(ctx).Into(out)
	return out, err
}

func listCases(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns, rvA, future string, page *corev1.ConfigMapList) {
	send := true
	tests := []struct {
		name string
		opts metav1.ListOptions
		want rvWant
		// exact: the list's resourceVersion must be the one asked for;
		// otherwise it must not be older.
		exact bool
		items int
	}{
		{"unset: most recent", metav1.ListOptions{}, ok, false, 2},
		{"0: any", metav1.ListOptions{ResourceVersion: "0"}, ok, false, 2},
		{"N: not older than", metav1.ListOptions{ResourceVersion: rvA}, ok, false, 2},
		{"N NotOlderThan", metav1.ListOptions{ResourceVersion: rvA, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}, ok, false, 2},
		{"N Exact", metav1.ListOptions{ResourceVersion: rvA, ResourceVersionMatch: metav1.ResourceVersionMatchExact}, ok, true, 1},
		{"limit, unset: most recent", metav1.ListOptions{Limit: 5}, ok, false, 2},
		{"limit, 0: any", metav1.ListOptions{Limit: 5, ResourceVersion: "0"}, ok, false, 2},
		{"limit, N: exact", metav1.ListOptions{Limit: 5, ResourceVersion: rvA}, ok, true, 1},
		{"continue: exact at the first page's", metav1.ListOptions{Limit: 5, Continue: page.Continue}, ok, true, 1},
		{"continue with 0: the token alone", metav1.ListOptions{Limit: 5, Continue: page.Continue, ResourceVersion: "0"}, ok, true, 1},
		{"continue with N", metav1.ListOptions{Limit: 5, Continue: page.Continue, ResourceVersion: rvA}, badRequest, false, 0},
		{"match without resourceVersion", metav1.ListOptions{ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}, forbidMatch, false, 0},
		{"Exact with 0", metav1.ListOptions{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchExact}, forbidMatch, false, 0},
		{"match with continue", metav1.ListOptions{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, Continue: page.Continue}, forbidMatch, false, 0},
		{"unknown match", metav1.ListOptions{ResourceVersion: rvA, ResourceVersionMatch: "Newest"},
			rvWant{422, metav1.StatusReasonInvalid, metav1.CauseTypeFieldValueNotSupported, "resourceVersionMatch"}, false, 0},
		{"sendInitialEvents", metav1.ListOptions{SendInitialEvents: &send},
			rvWant{422, metav1.StatusReasonInvalid, metav1.CauseType("FieldValueForbidden"), "sendInitialEvents"}, false, 0},
		{"future N: waits, then too large", metav1.ListOptions{ResourceVersion: future}, tooLarge, false, 0},
		{"future N Exact", metav1.ListOptions{ResourceVersion: future, ResourceVersionMatch: metav1.ResourceVersionMatchExact}, tooLarge, false, 0},
		{"limit, future N", metav1.ListOptions{Limit: 5, ResourceVersion: future}, tooLarge, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := rawList(ctx, cs, ns, tt.opts)
			tt.want.check(t, err)
			if err != nil {
				return
			}
			if tt.opts.ResourceVersion == "0" && tt.opts.Continue == "" {
				return // any state will do
			}
			want := page.ResourceVersion
			if tt.opts.ResourceVersion != "" && tt.opts.ResourceVersion != "0" {
				want = tt.opts.ResourceVersion
			}
			if len(list.Items) != tt.items {
				t.Errorf("got %d items, want %d", len(list.Items), tt.items)
			}
			got := mustUint(t, list.ResourceVersion)
			if tt.exact && got != mustUint(t, want) || !tt.exact && got < mustUint(t, want) {
				t.Errorf("got resourceVersion %d, want %s (exact: %v)", got, want, tt.exact)
			}
		})
	}
}

func getCases(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns, rvA, future string) {
	for _, tt := range []struct {
		name string
		rv   string
		want rvWant
	}{
		{"unset: most recent", "", ok},
		{"0: any", "0", ok},
		{"N: not older than", rvA, ok},
		{"future N: waits, then too large", future, tooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := &corev1.ConfigMap{}
			err := cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("configmaps").Name("a").
				VersionedParams(&metav1.GetOptions{ResourceVersion: tt.rv}, scheme.ParameterCodec).MaxRetries(0).Do(ctx).Into(out)
			tt.want.check(t, err)
			if err == nil && out.Name != "a" {
				t.Errorf("got %q, want a", out.Name)
			}
		})
	}
}

// watchEvent is what a watch case expects, in order: a type and, for an
// object, its name; a BOOKMARK that ends the initial events is "end".
type watchEvent struct {
	typ  watch.EventType
	name string
}

func watchCases(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns, rvA, future string) {
	yes, no := true, false
	notOlder := metav1.ResourceVersionMatchNotOlderThan
	end := watchEvent{watch.Bookmark, "end"}
	tests := []struct {
		name string
		opts metav1.ListOptions
		want rvWant
		// events come first; then, after a write of "c-<case>", the
		// ADDED event of it when added is set.
		events []watchEvent
		added  bool
	}{
		{"unset: state at most recent", metav1.ListOptions{AllowWatchBookmarks: true}, ok,
			[]watchEvent{{watch.Added, "a"}, {watch.Added, "b"}, end}, true},
		{"0: state at any", metav1.ListOptions{ResourceVersion: "0"}, ok,
			[]watchEvent{{watch.Added, "a"}, {watch.Added, "b"}}, true},
		{"N: start at exact", metav1.ListOptions{ResourceVersion: rvA}, ok,
			[]watchEvent{{watch.Added, "b"}}, true},
		{"sendInitialEvents, N NotOlderThan, bookmarks", metav1.ListOptions{ResourceVersion: rvA, ResourceVersionMatch: notOlder, SendInitialEvents: &yes, AllowWatchBookmarks: true}, ok,
			[]watchEvent{{watch.Added, "a"}, {watch.Added, "b"}, end}, true},
		{"sendInitialEvents, unset NotOlderThan, no bookmarks", metav1.ListOptions{ResourceVersionMatch: notOlder, SendInitialEvents: &yes}, ok,
			[]watchEvent{{watch.Added, "a"}, {watch.Added, "b"}}, true},
		{"sendInitialEvents false, unset: start at most recent", metav1.ListOptions{ResourceVersionMatch: notOlder, SendInitialEvents: &no}, ok, nil, true},
		{"sendInitialEvents without match", metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true}, forbidMatch, nil, false},
		{"match without sendInitialEvents", metav1.ListOptions{ResourceVersion: rvA, ResourceVersionMatch: notOlder}, forbidMatch, nil, false},
		{"sendInitialEvents with Exact", metav1.ListOptions{ResourceVersion: rvA, ResourceVersionMatch: metav1.ResourceVersionMatchExact, SendInitialEvents: &yes},
			rvWant{422, metav1.StatusReasonInvalid, metav1.CauseTypeFieldValueNotSupported, "resourceVersionMatch"}, nil, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, tt.opts)
			tt.want.check(t, err)
			if err != nil {
				return
			}
			defer w.Stop()
			for _, want := range tt.events {
				expectEvent(t, w, want)
			}
			if !tt.added {
				return
			}
			name := "c-" + strconv.Itoa(i)
			if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			for {
				// Writes of earlier cases may come first to a watch that
				// starts before them.
				ev := nextWatchEvent(t, w)
				if ev.Type == watch.Added && ev.Object.(*corev1.ConfigMap).Name == name {
					return
				}
				if ev.Type != watch.Added && ev.Type != watch.Bookmark {
					t.Fatalf("got %s %v, want ADDED %s", ev.Type, ev.Object, name)
				}
			}
		})
	}
	// A streaming list from a resourceVersion the server has not reached
	// ends, after a bounded wait, with one ERROR event: 504 with the
	// ResourceVersionTooLarge cause client-go's reflector acts on.
	t.Run("sendInitialEvents, future N: waits, then too large", func(t *testing.T) {
		w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: future, ResourceVersionMatch: notOlder, SendInitialEvents: &yes, AllowWatchBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ev := nextWatchEvent(t, w)
		st, isStatus := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !isStatus {
			t.Fatalf("got %s %T, want an ERROR Status", ev.Type, ev.Object)
		}
		tooLarge.checkStatus(t, *st)
	})
}

func nextWatchEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, open := <-w.ResultChan():
		if !open {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event within 30s")
	}
	return watch.Event{}
}

// expectEvent reads the next event but those of the ConfigMaps earlier
// cases wrote ("c-..."), and checks it.
func expectEvent(t *testing.T, w watch.Interface, want watchEvent) {
	t.Helper()
	ev := nextWatchEvent(t, w)
	for ev.Type == watch.Added && strings.HasPrefix(ev.Object.(*corev1.ConfigMap).Name, "c-") {
		ev = nextWatchEvent(t, w)
	}
	if ev.Type != want.typ {
		t.Fatalf("got %s %v, want %s %s", ev.Type, ev.Object, want.typ, want.name)
	}
	cm, _ := ev.Object.(*corev1.ConfigMap)
	if want == (watchEvent{watch.Bookmark, "end"}) {
		if cm == nil || cm.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
			t.Fatalf("got bookmark %v, want the %s annotation", ev.Object, metav1.InitialEventsAnnotationKey)
		}
		return
	}
	if cm == nil || cm.Name != want.name {
		t.Fatalf("got %s %v, want %s %s", ev.Type, ev.Object, want.typ, want.name)
	}
}
