package kubectl

import (
	"fmt"
	"testing"
)

func statefulSetManifest(name, extra string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: %s
  namespace: default
  labels: {e2e: kinds}
spec:
  serviceName: web
  selector:
    matchLabels: {app: %s}
  template:
    metadata:
      labels: {app: %s}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        volumeMounts: [{name: data, mountPath: /data}]
%s  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`, name, name, name, extra)
}

// TestStatefulSetsAndClaims: kubectl on apps/v1 StatefulSets and core/v1
// PersistentVolumeClaims without the StatefulSet controller: the everyday
// commands and columns, Kubernetes' defaults, the scale subresource, and
// the validation messages of what may not be written or changed.
func TestStatefulSetsAndClaims(t *testing.T) {
	k, _ := newKube(t)
	exerciseKind(t, k, kindCase{
		resource: "sts", namespace: "default",
		manifest: func(name string) string { return statefulSetManifest(name, "") },
		columns:  []string{"NAME", "READY", "AGE"},
		cells:    []string{"first", "0/1", "*"},
	})
	exerciseKind(t, k, kindCase{
		resource: "pvc", namespace: "default",
		manifest: func(name string) string {
			return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %s, namespace: default, labels: {e2e: kinds}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 2Gi}}
`, name)
		},
		columns: []string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"},
		// The empty VOLUME, CAPACITY and ACCESS MODES cells of a Pending
		// claim fold into the gaps.
		cells: []string{"first", "Pending", "fast", "<unset>", "*"},
	})

	k.runIn(statefulSetManifest("web", ""), "apply", "-f", "-")
	for jsonpath, want := range map[string]string{
		"{.spec.podManagementPolicy}":                              "OrderedReady",
		"{.spec.updateStrategy.type}":                              "RollingUpdate",
		"{.spec.updateStrategy.rollingUpdate.partition}":           "0",
		"{.spec.revisionHistoryLimit}":                             "10",
		"{.spec.replicas}":                                         "1",
		"{.spec.persistentVolumeClaimRetentionPolicy.whenDeleted}": "Retain",
		"{.spec.persistentVolumeClaimRetentionPolicy.whenScaled}":  "Retain",
		"{.spec.volumeClaimTemplates[0].spec.volumeMode}":          "Filesystem",
		"{.spec.volumeClaimTemplates[0].kind}":                     "PersistentVolumeClaim",
		"{.spec.volumeClaimTemplates[0].status.phase}":             "Pending",
	} {
		if got := k.run("get", "sts", "web", "-o", "jsonpath="+jsonpath); got != want {
			t.Errorf("%s: got %q, want %q", jsonpath, got, want)
		}
	}
	k.run("scale", "sts", "web", "--replicas=4")
	if got := k.run("get", "statefulset", "web", "-o", "jsonpath={.spec.replicas}"); got != "4" {
		t.Errorf("replicas after kubectl scale: %q", got)
	}
	// What may change, and what may not.
	k.run("patch", "sts", "web", "-p", `{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}},"minReadySeconds":5}}`)
	out, err := k.try("", "patch", "sts", "web", "-p", `{"spec":{"serviceName":"other"}}`)
	if err == nil {
		t.Fatalf("a changed serviceName was accepted: %s", out)
	}
	mustContain(t, "patch of serviceName", out, `The StatefulSet "web" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden`)
	out, err = k.try(statefulSetManifest("bad", "  podManagementPolicy: Random\n  persistentVolumeClaimRetentionPolicy: {whenScaled: Keep}\n"), "apply", "-f", "-")
	if err == nil {
		t.Fatalf("an invalid StatefulSet was accepted: %s", out)
	}
	mustContain(t, "invalid StatefulSet", out, `The StatefulSet "bad" is invalid`,
		`spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`,
		`spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Keep": supported values: "Retain", "Delete"`)

	k.runIn(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`, "apply", "-f", "-")
	if got := k.run("get", "pvc", "data", "-o", "jsonpath={.status.phase} {.spec.volumeMode}"); got != "Pending Filesystem" {
		t.Errorf("claim phase and volume mode: %q", got)
	}
	out, err = k.try("", "patch", "pvc", "data", "-p", `{"spec":{"accessModes":["ReadWriteMany"]}}`)
	if err == nil {
		t.Fatalf("a changed claim spec was accepted: %s", out)
	}
	mustContain(t, "patch of a claim's access modes", out, `The PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims`)
	out, err = k.try(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nostorage, namespace: default}
spec:
  accessModes: [ReadWriteSometimes]
`, "apply", "-f", "-")
	if err == nil {
		t.Fatalf("an invalid claim was accepted: %s", out)
	}
	mustContain(t, "invalid claim", out, `spec.resources[storage]: Required value`,
		`spec.accessModes: Unsupported value: "ReadWriteSometimes"`)
}
