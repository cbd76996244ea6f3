package fieldmanager

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// webObject is the Deployment of webConfig with replicas and image, meta
// and rest added to its metadata and to the object, and entries as its
// managedFields.
func webObject(replicas int, image, meta, rest string, entries ...string) string {
	if len(entries) > 0 {
		meta += `, "managedFields": [` + strings.Join(entries, ", ") + `]`
	}
	return fmt.Sprintf(`{"apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}%s},
  "spec": {"replicas": %d, "selector": {"matchLabels": {"app": "web"}},
    "template": {"spec": {"containers": [{"name": "web", "image": %q}]}}}%s}`, meta, replicas, image, rest)
}

const (
	at0 = "2026-03-01T10:00:00Z"
	at1 = "2026-03-01T11:00:00Z"
	at2 = "2026-03-01T12:00:00Z"
	// createdFields are those of webObject when an update creates it.
	createdFields = `{"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {".": {}, "f:replicas": {}, "f:selector": {},
  "f:template": {".": {}, "f:spec": {".": {}, "f:containers": {".": {}, "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}`
	uid = `, "uid": "u1"`
)

func TestUpdate(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  string
	}{{
		name:  "a create gives the creator every field",
		steps: []step{updateBy("creator", webObject(3, "nginx:1", "", ""), t0)},
		want:  webObject(3, "nginx:1", "", "", entry("creator", "Update", "", at0, createdFields)),
	}, {
		name:  "managed fields the client leaves out are kept, and a write that changes nothing keeps the time",
		steps: []step{updateBy("creator", webObject(3, "nginx:1", "", ""), t0), updateBy("creator", webObject(3, "nginx:1", "", ""), t1)},
		want:  webObject(3, "nginx:1", "", "", entry("creator", "Update", "", at0, createdFields)),
	}, {
		name: "invalid managed fields from the client are ignored",
		steps: []step{updateBy("creator", webObject(3, "nginx:1", "", ""), t0),
			updateBy("editor", webObject(4, "nginx:1", `, "managedFields": [{"manager": "x", "operation": "Bogus"}]`, ""), t1)},
		want: webObject(4, "nginx:1", "", "",
			entry("creator", "Update", "", at0, strings.Replace(createdFields, `"f:replicas": {}, `, "", 1)),
			entry("editor", "Update", "", at1, `{"f:spec": {"f:replicas": {}}}`)),
	}, {
		name: "valid managed fields from the client are honoured",
		steps: []step{updateBy("creator", webObject(3, "nginx:1", "", ""), t0),
			updateBy("editor", webObject(3, "nginx:1", "", "", entry("mine", "Update", "", "", `{"f:spec": {"f:replicas": {}}}`)), t1)},
		want: webObject(3, "nginx:1", "", "", entry("mine", "Update", "", "", `{"f:spec": {"f:replicas": {}}}`)),
	}, {
		name: "an empty list resets them, and an existing object stays untracked",
		steps: []step{updateBy("creator", webObject(3, "nginx:1", uid, ""), t0),
			updateBy("resetter", webObject(3, "nginx:1", uid+`, "managedFields": []`, ""), t1),
			updateBy("scaler", webObject(4, "nginx:1", uid, ""), t2)},
		want: webObject(4, "nginx:1", uid, ""),
	}, {
		name: "the first apply to an untracked object gives its fields to before-first-apply",
		steps: []step{updateBy("creator", webObject(3, "nginx:1", uid, ""), t0),
			updateBy("resetter", webObject(3, "nginx:1", uid+`, "managedFields": [{}]`, ""), t1),
			applyBy("kubectl", `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"tier": "front"}}}`, t2)},
		want: strings.Replace(webObject(3, "nginx:1", uid, "",
			entry("kubectl", "Apply", "", at2, `{"f:metadata": {"f:labels": {"f:tier": {}}}}`),
			entry("before-first-apply", "Update", "", at2, createdFields)), `{"app": "web"}`, `{"app": "web", "tier": "front"}`, 1),
	}, {
		name: "a status update owns only status and starts from live's managed fields",
		steps: []step{applyBy("kubectl", webConfig, t0),
			{manager: "ctrl", subresource: "status", at: t1,
				body: webObject(9, "nginx:1", `, "managedFields": []`, `, "status": {"replicas": 2}`)}},
		want: webObject(9, "nginx:1", "", `, "status": {"replicas": 2}`,
			entry("kubectl", "Apply", "", at0, webFields),
			entry("ctrl", "Update", "status", at1, `{"f:status": {".": {}, "f:replicas": {}}}`)),
	}, {
		name:  "an apply through the main resource does not own status",
		steps: []step{applyBy("kubectl", strings.Replace(webConfig, `"spec":`, `"status": {"replicas": 1}, "spec":`, 1), t0)},
		want:  webObject(3, "nginx:1", "", `, "status": {"replicas": 1}`, entry("kubectl", "Apply", "", at0, webFields)),
	}, {
		name:  "an unnamed manager is unknown",
		steps: []step{updateBy("", webObject(3, "nginx:1", "", ""), t0)},
		want:  webObject(3, "nginx:1", "", "", entry("unknown", "Update", "", at0, createdFields)),
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := run(t, deployments(t), c.steps)
			if err != nil {
				t.Fatal(err)
			}
			wantObject(t, got, c.want)
		})
	}
}

// TestUpdateCapsManagers: the twelfth Update entry merges the three oldest
// into ancient-changes, which takes the newest merged one's time.
func TestUpdateCapsManagers(t *testing.T) {
	m := configMaps(t)
	var cur map[string]any
	var entries []string
	for i := range 12 {
		next := obj(t, `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}`)
		if cur != nil {
			next = copyObject(cur)
		}
		next["data"].(map[string]any)[fmt.Sprintf("k%02d", i)] = "v"
		at := t0.Add(time.Duration(i) * 10 * time.Minute)
		cur = must(t)(m.Update(cur, next, fmt.Sprintf("m%02d", i), "", at))
		fields := fmt.Sprintf(`{"f:data": {"f:k%02d": {}}}`, i)
		if i == 0 {
			fields = `{"f:data": {".": {}, "f:k00": {}}}`
		}
		if i >= 3 {
			entries = append(entries, coreUpdate(fmt.Sprintf("m%02d", i), at.Truncate(time.Second).Format(time.RFC3339), fields))
		}
	}
	ancient := coreUpdate("ancient-changes", "2026-03-01T10:20:00Z", `{"f:data": {".": {}, "f:k00": {}, "f:k01": {}, "f:k02": {}}}`)
	want := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [` +
		strings.Join(append([]string{ancient}, entries...), ", ") + `]}, "data": {` +
		`"k00": "v", "k01": "v", "k02": "v", "k03": "v", "k04": "v", "k05": "v", "k06": "v", "k07": "v", "k08": "v", "k09": "v", "k10": "v", "k11": "v"}}`
	wantObject(t, cur, want)
}

// coreUpdate is an Update entry at v1.
func coreUpdate(manager, at, fields string) string {
	return strings.Replace(entry(manager, "Update", "", at, fields), `"apps/v1"`, `"v1"`, 1)
}
