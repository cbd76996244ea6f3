package driver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// addonObjects reads deploy/csi/csi-local.yaml, the add-on deploying
// this driver.
func addonObjects(t *testing.T) (objs []unstructured.Unstructured, docs [][]byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "csi", "csi-local.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, docs
		}
		if err != nil {
			t.Fatal(err)
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.Object != nil {
			objs, docs = append(objs, u), append(docs, doc)
		}
	}
}

// TestAddonNames: the add-on's objects keep clear of the system: prefix
// Kubernetes reserves for its own roles and bindings.
func TestAddonNames(t *testing.T) {
	objs, _ := addonObjects(t)
	for _, o := range objs {
		if strings.HasPrefix(o.GetName(), "system:") {
			t.Errorf("%s %s: the system: prefix is Kubernetes' own", o.GetKind(), o.GetName())
		}
		if o.GetKind() == "ClusterRoleBinding" || o.GetKind() == "RoleBinding" {
			if ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name"); strings.HasPrefix(ref, "system:") {
				t.Errorf("%s %s binds %s", o.GetKind(), o.GetName(), ref)
			}
		}
	}
}

// TestAddonToken: only the provisioner, which calls the apiserver, holds
// the service account's token; the privileged driver has none.
func TestAddonToken(t *testing.T) {
	objs, docs := addonObjects(t)
	var ds appsv1.DaemonSet
	for i, o := range objs {
		if o.GetKind() == "DaemonSet" {
			if err := yaml.UnmarshalStrict(docs[i], &ds); err != nil {
				t.Fatal(err)
			}
		}
	}
	pod := ds.Spec.Template.Spec
	if a := pod.AutomountServiceAccountToken; a == nil || *a {
		t.Fatal("the pod mounts the service account's token in every container: want automountServiceAccountToken: false")
	}
	tokenVolumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				tokenVolumes[v.Name] = true
			}
		}
	}
	holders := map[string]bool{}
	for _, c := range pod.Containers {
		for _, m := range c.VolumeMounts {
			if tokenVolumes[m.Name] {
				holders[c.Name] = m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" && m.ReadOnly
			}
		}
	}
	if len(holders) != 1 || !holders["provisioner"] {
		t.Fatalf("containers with the token (and at the in-cluster path, read-only): %v; want the provisioner alone", holders)
	}
	var driver corev1.Container
	for _, c := range pod.Containers {
		if c.Name == "driver" {
			driver = c
		}
	}
	if driver.SecurityContext == nil || driver.SecurityContext.Privileged == nil || !*driver.SecurityContext.Privileged {
		t.Fatal("no privileged driver container: the test no longer looks at the right pod")
	}
}
