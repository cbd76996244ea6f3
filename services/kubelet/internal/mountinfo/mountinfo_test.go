package mountinfo

import (
	"slices"
	"strings"
	"testing"

	"skiff.dev/pkg/mountinfo"
)

func TestUnder(t *testing.T) {
	table := `22 27 0:21 / /proc rw,relatime - proc proc rw
45 27 254:0 /var/lib/docker /var/lib/kubelet rw,relatime shared:1 master:3 - ext4 /dev/vda rw
46 45 254:0 /vols/a /var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount rw shared:1 - ext4 /dev/vda rw
47 45 0:30 / /var/lib/kubelet/pods/u/volumes/my\040dir rw - tmpfs tmpfs rw
48 27 0:31 / /var/lib/kubeletx rw - tmpfs tmpfs rw
`
	all, err := mountinfo.Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if m := all[1]; m.Root != "/var/lib/docker" || !slices.Equal(m.Optional, []string{"shared:1", "master:3"}) || m.FSType != "ext4" {
		t.Errorf("line 2 = %+v", m)
	}
	if m := all[3]; m.Point != "/var/lib/kubelet/pods/u/volumes/my dir" || len(m.Optional) != 0 {
		t.Errorf("escaped line = %+v", m)
	}
	var got []string
	for _, m := range mountinfo.FilterUnder(all, "/var/lib/kubelet/pods/u/") {
		got = append(got, m.Point)
	}
	want := []string{"/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv/mount", "/var/lib/kubelet/pods/u/volumes/my dir"}
	if !slices.Equal(got, want) {
		t.Errorf("under = %q, want %q", got, want)
	}
	if n := len(mountinfo.FilterUnder(all, "/var/lib/kubelet")); n != 3 {
		t.Errorf("under /var/lib/kubelet = %d mounts, want 3 (not /var/lib/kubeletx)", n)
	}
}
