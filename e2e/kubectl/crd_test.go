package kubectl

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"
)

// cronTabCRD is Kubernetes' own CustomResourceDefinition example, in two
// versions, with printer columns, the status and scale subresources and a
// CEL rule.
var cronTabCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
` + cronTabVersion + `  - name: v2
    served: true
    storage: false
` + cronTabVersion

const cronTabVersion = `    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: CronTab runs an image on a schedule.
        properties:
          spec:
            type: object
            description: What to run and when.
            x-kubernetes-validations:
            - {rule: "self.replicas <= self.maxReplicas", message: "replicas must not exceed maxReplicas"}
            properties:
              cronSpec: {type: string, description: The schedule in cron format.}
              image: {type: string}
              replicas: {type: integer, minimum: 0, default: 1}
              maxReplicas: {type: integer, default: 10}
          status:
            type: object
            properties:
              replicas: {type: integer}
`

// TestCustomResources: a CRD applied with kubectl, then its objects
// through the everyday commands, the validation a schema brings, a second
// version, and deletion of the CRD with its objects.
func TestCustomResources(t *testing.T) {
	k, _ := newKube(t)
	k.runIn(cronTabCRD, "apply", "-f", "-")
	k.run("wait", "--for=condition=Established", "--timeout=30s", "crd/crontabs.stable.example.com")
	mustContain(t, "kubectl get crd", k.run("get", "crd"), "NAME", "CREATED AT", "crontabs.stable.example.com")

	k.runIn("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: nightly}\nspec: {cronSpec: '0 3 * * *', image: backup, replicas: 2}\n", "apply", "-f", "-")
	lines := strings.Split(strings.TrimSpace(k.run("get", "ct")), "\n")
	if len(lines) != 2 || strings.Join(fields(lines[0]), " ") != "NAME SPEC REPLICAS AGE" {
		t.Fatalf("kubectl get ct: got %q, want the printer columns and one row", lines)
	}
	if got := fields(lines[1]); len(got) != 4 || got[0] != "nightly" || got[1] != "0 3 * * *" || got[2] != "2" {
		t.Errorf("kubectl get ct row: got %q, want nightly, its schedule and 2 replicas", got)
	}
	obj := k.jsonOf("get", "crontab", "nightly")
	if path(obj, "spec", "maxReplicas") != float64(10) || path(obj, "metadata", "generation") != float64(1) {
		t.Errorf("the created CronTab: got %v, want maxReplicas defaulted to 10 at generation 1", obj)
	}
	mustContain(t, "kubectl get crontabs.stable.example.com -o name", k.run("get", "crontabs.stable.example.com", "-o", "name"), "crontab.stable.example.com/nightly")

	// watch: a change made while kubectl watches shows up in its output.
	watch := k.watchLines(t, "get", "crontabs", "--watch", "-o", "custom-columns=NAME:.metadata.name,IMAGE:.spec.image", "--no-headers")
	k.run("patch", "ct", "nightly", "--type=merge", "-p", `{"spec":{"image":"backup:2"}}`)
	watch.waitFor(t, "nightly", "backup:2")
	k.run("patch", "ct", "nightly", "--type=json", "-p", `[{"op":"replace","path":"/spec/cronSpec","value":"0 4 * * *"}]`)
	if got := path(k.jsonOf("get", "ct", "nightly"), "spec", "cronSpec"); got != "0 4 * * *" {
		t.Errorf("after the JSON patch: cronSpec %v", got)
	}

	// scale through the scale subresource
	k.run("scale", "ct", "nightly", "--replicas=5")
	if got := path(k.jsonOf("get", "ct", "nightly"), "spec", "replicas"); got != float64(5) {
		t.Errorf("after kubectl scale: spec.replicas %v, want 5", got)
	}

	// kubectl explain reads the published schema
	mustContain(t, "kubectl explain crontab.spec", k.run("explain", "crontab.spec"), "What to run and when.", "cronSpec", "The schedule in cron format.")

	// invalid objects
	out, err := k.try("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {replicas: -1}\n", "apply", "-f", "-")
	if err == nil {
		t.Errorf("a negative replicas: accepted")
	}
	mustContain(t, "a negative replicas", out, "spec.replicas", "Invalid value")
	out, err = k.try("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {replicas: 20}\n", "apply", "-f", "-")
	if err == nil {
		t.Errorf("replicas over maxReplicas: accepted")
	}
	mustContain(t, "replicas over maxReplicas", out, "replicas must not exceed maxReplicas")

	// unknown fields: pruned with a warning, refused under strict
	// validation (kubectl's default)
	out = k.runIn("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: loose}\nspec: {image: x, colour: red}\n", "create", "--validate=warn", "-f", "-")
	mustContain(t, "an unknown field", out, `unknown field "spec.colour"`)
	if got := path(k.jsonOf("get", "ct", "loose"), "spec", "colour"); got != nil {
		t.Errorf("an unknown field was stored: %v", got)
	}
	out, err = k.try("apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: strict}\nspec: {image: x, colour: red}\n", "create", "--validate=strict", "-f", "-")
	if err == nil {
		t.Errorf("an unknown field under --validate=strict: accepted")
	}
	mustContain(t, "an unknown field under --validate=strict", out, `unknown field "spec.colour"`)

	// both versions serve the same objects (kubectl prefers v2)
	if got := path(k.jsonOf("get", "crontabs.v1.stable.example.com", "nightly"), "apiVersion"); got != "stable.example.com/v1" {
		t.Errorf("nightly read through v1: apiVersion %v", got)
	}
	if got := path(k.jsonOf("get", "crontabs.v2.stable.example.com", "nightly"), "apiVersion"); got != "stable.example.com/v2" {
		t.Errorf("nightly read through v2: apiVersion %v", got)
	}

	// deleting the CRD deletes its objects and stops serving them
	k.run("delete", "crd", "crontabs.stable.example.com")
	out, err = k.try("", "get", "crontabs")
	if err == nil {
		t.Errorf("kubectl get crontabs after the CRD went: succeeded\n%s", out)
	}
	k.runIn(cronTabCRD, "apply", "-f", "-")
	k.run("wait", "--for=condition=Established", "--timeout=30s", "crd/crontabs.stable.example.com")
	if out := strings.TrimSpace(k.run("get", "crontabs", "-o", "name")); out != "" {
		t.Errorf("the CRD made again has objects: %q, want none", out)
	}
}

// lineWatch is a long-running kubectl whose output lines the test reads.
type lineWatch struct {
	lines chan string
}

// watchLines starts kubectl; it is stopped when the test ends.
func (k *kube) watchLines(t *testing.T, args ...string) *lineWatch {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := k.cmd(ctx, "", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	w := &lineWatch{lines: make(chan string, 100)}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	return w
}

// waitFor reads lines until one has all the given fields.
func (w *lineWatch) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				t.Fatalf("the watch ended before a line with %q", want)
			}
			if strings.Join(fields(line), " ") == strings.Join(want, " ") {
				return
			}
		case <-deadline:
			t.Fatalf("no watch line with %q within 30 s", want)
		}
	}
}
