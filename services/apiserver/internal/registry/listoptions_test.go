package registry

import (
	"testing"

	"skiff.dev/services/apiserver/internal/apierrors"
)

func TestListOptionsValidation(t *testing.T) {
	yes := true
	tests := []struct {
		name  string
		opts  ListOptions
		watch bool
		want  string // the message; "" when valid
	}{
		{"list: match without resourceVersion", ListOptions{ResourceVersionMatch: "Exact"}, false,
			`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided`},
		{"list: Exact with 0", ListOptions{ResourceVersion: "0", ResourceVersionMatch: "Exact"}, false,
			`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"`},
		{"list: unknown match", ListOptions{ResourceVersion: "5", ResourceVersionMatch: "Newest"}, false,
			`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""`},
		{"list: match with continue", ListOptions{ResourceVersion: "5", ResourceVersionMatch: "NotOlderThan", Continue: "x"}, false,
			`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided`},
		{"list: sendInitialEvents", ListOptions{SendInitialEvents: &yes}, false,
			`ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list`},
		{"list: N NotOlderThan", ListOptions{ResourceVersion: "5", ResourceVersionMatch: "NotOlderThan"}, false, ""},
		{"watch: sendInitialEvents without match", ListOptions{SendInitialEvents: &yes}, true,
			`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan`},
		{"watch: match without sendInitialEvents", ListOptions{ResourceVersion: "5", ResourceVersionMatch: "NotOlderThan"}, true,
			`ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided`},
		{"watch: Exact", ListOptions{ResourceVersion: "5", ResourceVersionMatch: "Exact", SendInitialEvents: &yes}, true,
			`ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]`},
		{"watch: streaming list", ListOptions{ResourceVersionMatch: "NotOlderThan", SendInitialEvents: &yes}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateListOptions(tt.opts, tt.watch)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			st := apierrors.ToStatus(err)
			if st.GetCode() != 422 || st.GetMessage() != tt.want {
				t.Errorf("got %d %q, want 422 %q", st.GetCode(), st.GetMessage(), tt.want)
			}
		})
	}
}

func TestWatchFromNowIsAStreamingList(t *testing.T) {
	for _, rv := range []string{"", "0"} {
		opts := ListOptions{ResourceVersion: rv}
		defaultWatchOptions(&opts)
		if opts.SendInitialEvents == nil || !*opts.SendInitialEvents || opts.ResourceVersionMatch != "NotOlderThan" {
			t.Errorf("resourceVersion %q: got %+v, want sendInitialEvents=true, NotOlderThan", rv, opts)
		}
	}
	opts := ListOptions{ResourceVersion: "5"}
	defaultWatchOptions(&opts)
	if opts.SendInitialEvents != nil || opts.ResourceVersionMatch != "" {
		t.Errorf("resourceVersion 5: got %+v, want it unchanged", opts)
	}
}
