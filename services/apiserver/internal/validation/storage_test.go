package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// joined renders errors one a line, as a Status message lists them.
func joined(errs field.ErrorList) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return strings.Join(out, "\n")
}

func csiVolume() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{Metadata: &metav1.ObjectMeta{Name: "pv"}, Spec: &corev1.PersistentVolumeSpec{
		Capacity:                      map[string]*metav1.Quantity{"storage": {String_: "1Gi"}},
		AccessModes:                   []string{"ReadWriteOnce"},
		PersistentVolumeReclaimPolicy: "Retain",
		PersistentVolumeSource:        &corev1.PersistentVolumeSource{Csi: &corev1.CSIPersistentVolumeSource{Driver: "local.csi.skiff.dev", VolumeHandle: "v1"}},
	}}
}

func TestValidatePersistentVolume(t *testing.T) {
	if errs := ValidatePersistentVolume(csiVolume()); len(errs) > 0 {
		t.Fatalf("valid volume: %v", errs)
	}
	terms := &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.NodeSelectorRequirement{
		{Key: "kubernetes.io/hostname", Operator: "In", Values: []string{"n1"}}}}}}
	tests := []struct {
		name   string
		change func(*corev1.PersistentVolume)
		want   string
	}{
		{"bad access mode", func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = []string{"ReadWriteSometimes"} },
			`spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`},
		{"no access mode", func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = nil }, `spec.accessModes: Required value`},
		{"RWOP with others", func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = []string{"ReadWriteOncePod", "ReadOnlyMany"} },
			`spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes`},
		{"no capacity", func(pv *corev1.PersistentVolume) { pv.Spec.Capacity = nil },
			"spec.capacity: Required value\nspec.capacity: Unsupported value: null: supported values: \"storage\""},
		{"zero capacity", func(pv *corev1.PersistentVolume) { pv.Spec.Capacity["storage"] = &metav1.Quantity{String_: "0"} },
			`spec.capacity[storage]: Invalid value: "0": must be greater than zero`},
		{"no source", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeSource = nil }, `spec: Required value: must specify a volume type`},
		{"two sources", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource.HostPath = &corev1.HostPathVolumeSource{Path: "/data"}
		}, `spec.csi: Forbidden: may not specify more than 1 volume type`},
		{"reclaim policy", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Keep" },
			`spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"`},
		{"csi without handle", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeSource.Csi.VolumeHandle = "" },
			`spec.csi.volumeHandle: Required value`},
		{"csi driver name", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeSource.Csi.Driver = "no_underscores" },
			`spec.csi.driver: Invalid value: "no_underscores": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"csi stage secret without namespace", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource.Csi.NodeStageSecretRef = &corev1.SecretReference{Name: "creds"}
		}, `spec.csi.nodeStageSecretRef.namespace: Required value`},
		{"csi stage secret", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource.Csi.NodeStageSecretRef = &corev1.SecretReference{Name: "creds", Namespace: "storage"}
		}, ``},
		{"local without affinity", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource = &corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}}
		}, `spec.nodeAffinity: Required value: Local volume requires node affinity`},
		{"local with affinity", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource = &corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disk"}}
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: terms}
		}, ``},
		{"affinity without terms", func(pv *corev1.PersistentVolume) {
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{}}
		}, `spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one node selector term`},
		{"affinity operator", func(pv *corev1.PersistentVolume) {
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{
				{MatchExpressions: []*corev1.NodeSelectorRequirement{{Key: "zone", Operator: "Near"}}}}}}
		}, `spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`},
		{"nfs relative path", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource = &corev1.PersistentVolumeSource{Nfs: &corev1.NFSVolumeSource{Server: "nfs", Path: "export"}}
		}, `spec.nfs.path: Invalid value: "export": must be an absolute path`},
		{"volume mode", func(pv *corev1.PersistentVolume) { pv.Spec.VolumeMode = proto.String("Raw") },
			`spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := csiVolume()
			tt.change(pv)
			if got := joined(ValidatePersistentVolume(pv)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestValidatePersistentVolumeUpdate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*corev1.PersistentVolume)
		want   string
	}{
		{"claimRef and capacity may change", func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
			pv.Spec.Capacity["storage"] = &metav1.Quantity{String_: "2Gi"}
		}, ``},
		{"expand secret may be added", func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource.Csi.ControllerExpandSecretRef = &corev1.SecretReference{Name: "s", Namespace: "ns"}
		}, ``},
		{"source", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeSource.Csi.VolumeHandle = "v2" },
			`spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation`},
		{"volume mode", func(pv *corev1.PersistentVolume) { pv.Spec.VolumeMode = proto.String("Block") },
			`volumeMode: Invalid value: "Block": field is immutable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := csiVolume()
			old.Spec.VolumeMode = proto.String("Filesystem")
			pv := proto.Clone(old).(*corev1.PersistentVolume)
			tt.change(pv)
			if got := joined(ValidatePersistentVolumeUpdate(pv, old)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestValidatePersistentVolumeNodeAffinityUpdate(t *testing.T) {
	affinity := func(keys ...string) *corev1.VolumeNodeAffinity {
		var reqs []*corev1.NodeSelectorRequirement
		for _, k := range keys {
			reqs = append(reqs, &corev1.NodeSelectorRequirement{Key: k, Operator: "In", Values: []string{"v"}})
		}
		return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}}
	}
	const beta, ga = "failure-domain.beta.kubernetes.io/zone", "topology.kubernetes.io/zone"
	tests := []struct {
		name      string
		old, next *corev1.VolumeNodeAffinity
		wantErr   bool
	}{
		{"unchanged", affinity(beta, "k"), affinity(beta, "k"), false},
		{"beta zone to GA", affinity(beta, "k"), affinity(ga, "k"), false},
		{"beta os to GA", affinity("beta.kubernetes.io/os"), affinity("kubernetes.io/os"), false},
		{"beta instance type to GA", affinity("beta.kubernetes.io/instance-type"), affinity("node.kubernetes.io/instance-type"), false},
		{"GA back to beta", affinity(ga), affinity(beta), true},
		{"another key", affinity("k"), affinity("k2"), true},
		{"beta to another GA label", affinity(beta), affinity("topology.kubernetes.io/region"), true},
		{"a requirement more", affinity(beta), affinity(ga, "k"), true},
		{"set where there was none", nil, affinity(ga), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := csiVolume()
			old.Spec.NodeAffinity = tt.old
			pv := proto.Clone(old).(*corev1.PersistentVolume)
			pv.Spec.NodeAffinity = tt.next
			got := joined(ValidatePersistentVolumeUpdate(pv, old))
			if tt.wantErr != (got != "") || tt.wantErr && !strings.HasSuffix(got, "field is immutable, except for updating from beta label to GA") {
				t.Errorf("got %q, want error: %v", got, tt.wantErr)
			}
		})
	}
}

func TestValidateStorageKinds(t *testing.T) {
	class := func() *storagev1.StorageClass {
		return &storagev1.StorageClass{Metadata: &metav1.ObjectMeta{Name: "standard"}, Provisioner: "local.csi.skiff.dev",
			ReclaimPolicy: proto.String("Delete"), VolumeBindingMode: proto.String("WaitForFirstConsumer"), Parameters: map[string]string{"a": "b"}}
	}
	changedClass := class()
	changedClass.Parameters["a"], changedClass.Provisioner, changedClass.ReclaimPolicy = "c", "other.dev", proto.String("Retain")
	changedClass.VolumeBindingMode = proto.String("Immediate")
	driver := func(attach bool) *storagev1.CSIDriver {
		return &storagev1.CSIDriver{Metadata: &metav1.ObjectMeta{Name: "d"}, Spec: &storagev1.CSIDriverSpec{AttachRequired: proto.Bool(attach),
			PodInfoOnMount: proto.Bool(false), StorageCapacity: proto.Bool(false), SeLinuxMount: proto.Bool(false),
			VolumeLifecycleModes: []string{"Persistent"}}}
	}
	attachment := func(node string) *storagev1.VolumeAttachment {
		return &storagev1.VolumeAttachment{Metadata: &metav1.ObjectMeta{Name: "va"}, Spec: &storagev1.VolumeAttachmentSpec{Attacher: "d",
			NodeName: node, Source: &storagev1.VolumeAttachmentSource{PersistentVolumeName: proto.String("pv")}}}
	}
	attachmentErrors := func() *storagev1.VolumeAttachment {
		va := attachment("n1")
		va.Status = &storagev1.VolumeAttachmentStatus{AttachError: &storagev1.VolumeError{ErrorCode: proto.Int32(-1)},
			DetachError: &storagev1.VolumeError{ErrorCode: proto.Int32(-2)}}
		return va
	}
	tests := []struct {
		name string
		errs field.ErrorList
		want string
	}{
		{"valid class", ValidateStorageClass(class()), ``},
		{"class without provisioner", ValidateStorageClass(&storagev1.StorageClass{VolumeBindingMode: proto.String("Immediate")}),
			`provisioner: Required value`},
		{"class binding mode", ValidateStorageClass(&storagev1.StorageClass{Provisioner: "p", VolumeBindingMode: proto.String("Later")}),
			`volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"`},
		{"class reclaim policy", ValidateStorageClass(&storagev1.StorageClass{Provisioner: "p", VolumeBindingMode: proto.String("Immediate"),
			ReclaimPolicy: proto.String("Recycle")}), `reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"`},
		{"class update", ValidateStorageClassUpdate(changedClass, class()), "parameters: Forbidden: updates to parameters are forbidden.\n" +
			"provisioner: Forbidden: updates to provisioner are forbidden.\nreclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.\n" +
			`volumeBindingMode: Invalid value: "Immediate": field is immutable`},
		{"valid driver", ValidateCSIDriver(driver(false)), ``},
		{"driver unset", ValidateCSIDriver(&storagev1.CSIDriver{}), "spec.attachedRequired: Required value\nspec.podInfoOnMount: Required value\n" +
			"spec.storageCapacity: Required value\nspec.seLinuxMount: Required value"},
		{"driver attachRequired changed", ValidateCSIDriverUpdate(driver(true), driver(false)), `spec.attachedRequired: Invalid value: true: field is immutable`},
		{"csinode", ValidateCSINode(&storagev1.CSINode{Spec: &storagev1.CSINodeSpec{Drivers: []*storagev1.CSINodeDriver{
			{Name: "d", NodeId: "n1", TopologyKeys: []string{"topology.local.csi.skiff.dev/node"}}, {Name: "d"}}}}),
			"spec.drivers[1].nodeID: Required value\nspec.drivers[1].name: Duplicate value: \"d\""},
		{"csinode long node ID", ValidateCSINode(&storagev1.CSINode{Spec: &storagev1.CSINodeSpec{Drivers: []*storagev1.CSINodeDriver{
			{Name: "d", NodeId: strings.Repeat("n", 256)}}}}), ``},
		{"csinode too long node ID", ValidateCSINode(&storagev1.CSINode{Spec: &storagev1.CSINodeSpec{Drivers: []*storagev1.CSINodeDriver{
			{Name: "d", NodeId: strings.Repeat("n", 257)}}}}), `spec.drivers[0].nodeID: Invalid value: "` + strings.Repeat("n", 257) + `": must be 256 characters or less`},
		{"valid attachment", ValidateVolumeAttachment(attachment("n1")), ``},
		{"attachment errors, attach then detach", ValidateVolumeAttachment(attachmentErrors()),
			"status.attachError.errorCode: Invalid value: -1: must be between 0 and 2147483647, inclusive\n" +
				"status.detachError.errorCode: Invalid value: -2: must be between 0 and 2147483647, inclusive"},
		{"attachment without source", ValidateVolumeAttachment(&storagev1.VolumeAttachment{Spec: &storagev1.VolumeAttachmentSpec{Attacher: "d", NodeName: "n1"}}),
			`spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName`},
		{"attachment spec changed", ValidateVolumeAttachmentUpdate(attachment("n2"), attachment("n1")), `spec: Invalid value: ` +
			`{"attacher":"d","source":{"persistentVolumeName":"pv"},"nodeName":"n2"}: field is immutable`},
		{"capacity", ValidateCSIStorageCapacity(&storagev1.CSIStorageCapacity{StorageClassName: "standard", Capacity: &metav1.Quantity{String_: "-1"}}),
			`capacity: Invalid value: "-1": must be greater than or equal to 0`},
	}
	for _, tt := range tests {
		if got := joined(tt.errs); got != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}
