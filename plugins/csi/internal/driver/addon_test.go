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

// addonObjects reads deploy/addons/csi-local.yaml, the add-on deploying
// this driver's provisioner, CSIDriver object and StorageClass.
func addonObjects(t *testing.T) (objs []unstructured.Unstructured, docs [][]byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "deploy", "addons", "csi-local.yaml"))
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

// TestAddonUnprivileged: the add-on's pods, which hold the service
// account's token, run unprivileged with the driver's socket directory as
// their only host path; the driver, which mounts, runs beside the kubelet.
func TestAddonUnprivileged(t *testing.T) {
	objs, docs := addonObjects(t)
	var ds *appsv1.DaemonSet
	for i, o := range objs {
		if o.GetKind() == "DaemonSet" {
			ds = &appsv1.DaemonSet{}
			if err := yaml.UnmarshalStrict(docs[i], ds); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ds == nil {
		t.Fatal("no DaemonSet in the add-on: the test no longer looks at the right file")
	}
	pod := ds.Spec.Template.Spec
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil || sc.Privileged != nil && *sc.Privileged:
			t.Errorf("container %s: privileged or without a security context", c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("container %s: allows privilege escalation", c.Name)
		case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) > 0:
			t.Errorf("container %s: capabilities %v, want every one dropped", c.Name, sc.Capabilities)
		}
		for _, m := range c.VolumeMounts {
			if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
				t.Errorf("container %s: mount %s propagates %s", c.Name, m.Name, *m.MountPropagation)
			}
		}
	}
	for _, v := range pod.Volumes {
		if v.HostPath != nil && v.HostPath.Path != "/var/lib/skiff-node/kubelet/plugins/"+Name {
			t.Errorf("volume %s: host path %s, want the driver's socket directory alone", v.Name, v.HostPath.Path)
		}
	}
}
