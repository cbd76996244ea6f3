package mountinfo

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	table := `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
40 30 0:5 /a /var/lib/kubelet/pods/x/volumes/a\040b ro,relatime shared:7 master:3 - ext4 /dev/sda rw
22 1 0:21 / /proc rw - proc proc rw
`
	want := []Mount{
		{Dev: "98:0", Root: "/mnt1", Point: "/mnt2", Options: []string{"rw", "noatime"}, Optional: []string{"master:1"}, FSType: "ext3"},
		{Dev: "0:5", Root: "/a", Point: "/var/lib/kubelet/pods/x/volumes/a b", Options: []string{"ro", "relatime"}, Optional: []string{"shared:7", "master:3"}, FSType: "ext4"},
		{Dev: "0:21", Root: "/", Point: "/proc", Options: []string{"rw"}, Optional: []string{}, FSType: "proc"},
	}
	got, err := Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d mounts, want %d", len(got), len(want))
	}
	for i, m := range got {
		w := want[i]
		if m.Dev != w.Dev || m.Root != w.Root || m.Point != w.Point || m.FSType != w.FSType ||
			!slices.Equal(m.Options, w.Options) || !slices.Equal(m.Optional, w.Optional) {
			t.Errorf("line %d = %+v, want %+v", i+1, m, w)
		}
	}
	if !got[1].ReadOnly() || got[0].ReadOnly() {
		t.Error("ReadOnly reads the per-mount options")
	}
	for _, bad := range []string{"1 2 3", "36 35 98:0 /mnt1 /mnt2 rw master:1", "36 35 98:0 /mnt1 /mnt2 rw -"} {
		if _, err := Parse(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("malformed line %q parsed", bad)
		}
	}
}

func TestUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`/tmp/ctd-1/state`, "/tmp/ctd-1/state"},
		{`/tmp/a\040b`, "/tmp/a b"},
		{`/tmp/tab\011x\134`, "/tmp/tab\tx\\"},
		{`/tmp/short\04`, `/tmp/short\04`},
	} {
		if got := unescape(tc.in); got != tc.want {
			t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
