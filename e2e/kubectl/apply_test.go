package kubectl

import (
	"strings"
	"testing"
)

// TestServerSideApply: kubectl apply --server-side on a Deployment, a
// ConfigMap and a custom resource: applying twice leaves the object
// unchanged, another manager's different value conflicts naming the
// manager, --force-conflicts takes the field over, and
// --show-managed-fields shows both managers.
func TestServerSideApply(t *testing.T) {
	k, _ := newKube(t)
	k.runIn(cronTabCRD, "apply", "-f", "-")
	k.run("wait", "--for=condition=Established", "--timeout=30s", "crd/crontabs.stable.example.com")
	cases := []struct {
		name, manifest, other, path string
	}{
		{
			name:     "deployment/web",
			manifest: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n",
			other:    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
			path:     ".spec.replicas",
		},
		{
			name:     "configmap/settings",
			manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {colour: blue, size: small}\n",
			other:    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {colour: red}\n",
			path:     ".data.colour",
		},
		{
			name:     "crontab/nightly",
			manifest: "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly}\nspec: {cronSpec: '0 3 * * *', image: backup}\n",
			other:    "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly}\nspec: {image: restore}\n",
			path:     ".spec.image",
		},
	}
	// A Service made by apply gets its cluster IP, as one made otherwise.
	k.runIn("apiVersion: v1\nkind: Service\nmetadata: {name: applied}\nspec: {ports: [{port: 80}]}\n", "apply", "--server-side", "-f", "-")
	if ip := k.run("get", "service", "applied", "-o", "jsonpath={.spec.clusterIP}"); ip == "" {
		t.Errorf("a Service created by server-side apply has no cluster IP")
	}
	for _, c := range cases {
		t.Run(strings.Split(c.name, "/")[0], func(t *testing.T) {
			mustContain(t, "the first apply", k.runIn(c.manifest, "apply", "--server-side", "-f", "-"), "serverside-applied")
			rv := k.run("get", c.name, "-o", "jsonpath={.metadata.resourceVersion}")
			k.runIn(c.manifest, "apply", "--server-side", "-f", "-")
			if again := k.run("get", c.name, "-o", "jsonpath={.metadata.resourceVersion}"); again != rv {
				t.Errorf("applying the same manifest again wrote the object: resourceVersion %s → %s", rv, again)
			}
			out, err := k.try(c.other, "apply", "--server-side", "--field-manager=other", "-f", "-")
			if err == nil {
				t.Fatalf("a conflicting apply by another manager succeeded:\n%s", out)
			}
			mustContain(t, "the conflicting apply", out, "conflict", `"kubectl"`, c.path)
			k.runIn(c.other, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-")
			yaml := k.run("get", c.name, "-o", "yaml", "--show-managed-fields")
			mustContain(t, "the managed fields", yaml, "manager: kubectl", "manager: other", "operation: Apply")
		})
	}
}
