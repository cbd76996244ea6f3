package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageErrors: a command line that can't mean anything exits 2 with
// what is wrong and the usage, before touching any file.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"backup", "f.db"}, `unknown command "backup"`},
		{[]string{"save", "f.db"}, "give either --data-dir (embedded etcd) or --endpoints"},
		{[]string{"save", "--data-dir", "d", "--endpoints", "https://e:2379", "f.db"}, "give either --data-dir"},
		{[]string{"save", "--data-dir", "d"}, "want one snapshot file, got 0"},
		{[]string{"save", "--data-dir", "d", "a.db", "b.db"}, "want one snapshot file, got 2"},
		{[]string{"save", "--offline", "--endpoints", "https://e:2379", "f.db"}, "--offline copies a stopped member's database"},
		{[]string{"save", "--offline", "--data-dir", "d", "--etcd-data-dir", "e", "f.db"}, "give either --data-dir or --etcd-data-dir"},
		{[]string{"save", "--etcd-data-dir", "e", "f.db"}, "--etcd-data-dir is read with --offline only"},
		{[]string{"restore", "f.db"}, "--data-dir is required"},
		{[]string{"restore", "--data-dir", "d", "--bump-revision", "-1", "f.db"}, "invalid argument"},
		{[]string{"status", "--data-dir", "d", "f.db"}, "unknown flag"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) || !strings.Contains(errOut.String(), "Usage:") {
				t.Errorf("stderr %q, want %q and the usage", errOut.String(), tc.want)
			}
		})
	}
}
