package mounter

import (
	"slices"
	"testing"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Mount
		ro   bool
	}{
		{
			line: `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`,
			want: Mount{Dev: "98:0", Root: "/mnt1", Point: "/mnt2", Options: []string{"rw", "noatime"}, Optional: []string{"master:1"}},
		},
		{
			line: `40 30 0:5 /a /var/lib/kubelet/pods/x/volumes/a\040b ro,relatime shared:7 - ext4 /dev/sda rw`,
			want: Mount{Dev: "0:5", Root: "/a", Point: "/var/lib/kubelet/pods/x/volumes/a b", Options: []string{"ro", "relatime"}, Optional: []string{"shared:7"}},
			ro:   true,
		},
		{
			line: `22 1 0:21 / /proc rw - proc proc rw`,
			want: Mount{Dev: "0:21", Root: "/", Point: "/proc", Options: []string{"rw"}},
		},
	} {
		got, err := parseLine(tc.line)
		if err != nil {
			t.Fatal(err)
		}
		if got.Dev != tc.want.Dev || got.Root != tc.want.Root || got.Point != tc.want.Point || !slices.Equal(got.Options, tc.want.Options) || !slices.Equal(got.Optional, tc.want.Optional) || got.ReadOnly() != tc.ro {
			t.Errorf("parseLine(%q) = %+v, want %+v", tc.line, got, tc.want)
		}
	}
	if _, err := parseLine("1 2 3"); err == nil {
		t.Error("a short line parsed")
	}
}
