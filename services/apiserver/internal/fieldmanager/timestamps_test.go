package fieldmanager

import (
	"testing"
)

func TestIgnoreTimestampOnlyChanges(t *testing.T) {
	replicas := `{"f:spec": {"f:replicas": {}}}`
	live := webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at0, webFields), entry("hpa", "Update", "", at0, replicas))
	cases := []struct {
		name, live, obj, want string
	}{{
		name: "only times changed",
		live: live,
		obj:  webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, webFields), entry("hpa", "Update", "", at0, replicas)),
		want: live,
	}, {
		name: "a time appears",
		live: webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", "", webFields)),
		obj:  webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, webFields)),
		want: webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", "", webFields)),
	}, {
		name: "the object changed",
		live: live,
		obj:  webObject(4, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, webFields), entry("hpa", "Update", "", at0, replicas)),
		want: webObject(4, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, webFields), entry("hpa", "Update", "", at0, replicas)),
	}, {
		name: "an entry's fields changed",
		live: live,
		obj:  webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, replicas), entry("hpa", "Update", "", at0, replicas)),
		want: webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, replicas), entry("hpa", "Update", "", at0, replicas)),
	}, {
		name: "an entry was added",
		live: live,
		obj: webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, webFields), entry("hpa", "Update", "", at0, replicas),
			entry("other", "Update", "", at1, replicas)),
		want: webObject(3, "nginx:1", "", "", entry("kubectl", "Apply", "", at1, webFields), entry("hpa", "Update", "", at0, replicas),
			entry("other", "Update", "", at1, replicas)),
	}, {
		name: "no entries",
		live: webObject(3, "nginx:1", "", ""),
		obj:  webObject(3, "nginx:1", "", ""),
		want: webObject(3, "nginx:1", "", ""),
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantObject(t, IgnoreTimestampOnlyChanges(obj(t, c.live), obj(t, c.obj)), c.want)
		})
	}
	t.Run("a create", func(t *testing.T) {
		wantObject(t, IgnoreTimestampOnlyChanges(nil, obj(t, live)), live)
	})
}
