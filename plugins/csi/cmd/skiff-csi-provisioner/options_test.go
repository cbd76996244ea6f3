package main

import "testing"

// The Pod owns the capacity objects only when the provisioner runs in one
// and writes them to its namespace.
func TestOwner(t *testing.T) {
	tests := []struct {
		name          string
		pod, uid, ns  string
		want, invalid bool
	}{
		{name: "in a pod", pod: "csi-local-x7k2p", uid: "u1", ns: "kube-system", want: true},
		{name: "a process", ns: "kube-system"},
		{name: "objects in another namespace", pod: "p", uid: "u1", ns: "default"},
		{name: "name without uid", pod: "p", ns: "kube-system", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultOptions()
			o.NodeName, o.Namespace = "node-a", "kube-system"
			o.PodName, o.PodUID, o.PodNamespace = tt.pod, tt.uid, tt.ns
			if err := o.validate(); (err != nil) != tt.invalid {
				t.Fatalf("validate() = %v", err)
			}
			got := o.owner()
			if (got != nil) != tt.want {
				t.Fatalf("owner() = %+v", got)
			}
			if got != nil && (got.Name != tt.pod || string(got.UID) != tt.uid || got.Kind != "Pod" || got.APIVersion != "v1" || !*got.Controller) {
				t.Errorf("owner() = %+v", got)
			}
		})
	}
}
