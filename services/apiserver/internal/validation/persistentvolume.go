package validation

import (
	"path"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	pvAccessModes     = []string{"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"}
	pvReclaimPolicies = []string{"Delete", "Recycle", "Retain"}
)

// ValidatePersistentVolume checks a volume as Kubernetes does: access
// modes, a storage capacity and nothing else, a known reclaim policy and
// volume mode, node affinity (required for a local volume), and exactly
// one volume source, each checked on its own.
func ValidatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	errs := ValidatePersistentVolumeSpec(pv.GetSpec(), false, field.NewPath("spec"))
	if _, ok := pv.GetMetadata().GetAnnotations()["volume.beta.kubernetes.io/mount-options"]; ok &&
		pv.GetSpec().GetPersistentVolumeSource().GetNfs() == nil {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations", "volume.beta.kubernetes.io/mount-options"),
			"may not specify mount options for this volume type"))
	}
	return errs
}

// ValidatePersistentVolumeSpec checks a volume's spec at p; inline is a
// VolumeAttachment's inline spec, which may hold only a CSI source.
func ValidatePersistentVolumeSpec(sp *corev1.PersistentVolumeSpec, inline bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sp == nil {
		sp = &corev1.PersistentVolumeSpec{}
	}
	if inline {
		errs = append(errs, inlineSpecRules(sp, p)...)
	}
	errs = append(errs, pvAccessModesErrors(sp.GetAccessModes(), p.Child("accessModes"))...)
	if !inline {
		errs = append(errs, pvCapacity(sp.GetCapacity(), p.Child("capacity"))...)
	}
	if rp := sp.GetPersistentVolumeReclaimPolicy(); rp != "" && !inline && !slices.Contains(pvReclaimPolicies, rp) {
		errs = append(errs, field.NotSupported(p.Child("persistentVolumeReclaimPolicy"), rp, pvReclaimPolicies))
	}
	affinity := false
	if na := sp.GetNodeAffinity(); na != nil && !inline {
		affinity = true
		if na.GetRequired() == nil {
			errs = append(errs, field.Required(p.Child("nodeAffinity", "required"), "must specify required node constraints"))
		} else {
			errs = append(errs, validateNodeSelector(na.GetRequired(), p.Child("nodeAffinity", "required"))...)
		}
	}
	errs = append(errs, pvSource(sp.GetPersistentVolumeSource(), affinity, p)...)
	if hp := sp.GetPersistentVolumeSource().GetHostPath(); hp != nil && path.Clean(hp.GetPath()) == "/" && sp.GetPersistentVolumeReclaimPolicy() == "Recycle" {
		errs = append(errs, field.Forbidden(p.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if c := sp.GetStorageClassName(); c != "" && !inline {
		errs = append(errs, invalid(p.Child("storageClassName"), c, validation.IsDNS1123Subdomain(c))...)
	}
	if sp.VolumeMode != nil && !inline && !slices.Contains(claimVolumeModes, sp.GetVolumeMode()) {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), sp.GetVolumeMode(), claimVolumeModes))
	}
	if vac := sp.VolumeAttributesClassName; vac != nil {
		if *vac == "" {
			errs = append(errs, field.Required(p.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			errs = append(errs, invalid(p.Child("volumeAttributesClassName"), *vac, validation.IsDNS1123Subdomain(*vac))...)
		}
		if sp.GetPersistentVolumeSource().GetCsi() == nil {
			errs = append(errs, field.Required(p.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

func inlineSpecRules(sp *corev1.PersistentVolumeSpec, p *field.Path) field.ErrorList {
	const ctx = " in the context of inline volumes"
	var errs field.ErrorList
	if sp.GetClaimRef() != nil {
		errs = append(errs, field.Forbidden(p.Child("claimRef"), "may not be specified"+ctx))
	}
	if len(sp.GetCapacity()) != 0 {
		errs = append(errs, field.Forbidden(p.Child("capacity"), "may not be specified"+ctx))
	}
	if sp.GetPersistentVolumeSource().GetCsi() == nil {
		errs = append(errs, field.Required(p.Child("csi"), "has to be specified"+ctx))
	}
	if rp := sp.GetPersistentVolumeReclaimPolicy(); rp != "" && rp != "Retain" {
		errs = append(errs, field.Forbidden(p.Child("persistentVolumeReclaimPolicy"), "may only be Retain"+ctx))
	}
	if sp.GetNodeAffinity() != nil {
		errs = append(errs, field.Forbidden(p.Child("nodeAffinity"), "may not be specified"+ctx))
	}
	if sp.GetStorageClassName() != "" {
		errs = append(errs, field.Forbidden(p.Child("storageClassName"), "may not be specified"+ctx))
	}
	if sp.VolumeMode != nil && sp.GetVolumeMode() != "Filesystem" {
		errs = append(errs, field.Forbidden(p.Child("volumeMode"), "may not specify volumeMode other than Filesystem"+ctx))
	}
	return errs
}

func pvAccessModesErrors(modes []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	once, others := false, false
	for _, m := range modes {
		switch {
		case !slices.Contains(pvAccessModes, m):
			errs = append(errs, field.NotSupported(p, m, pvAccessModes))
		case m == "ReadWriteOncePod":
			once = true
		default:
			others = true
		}
	}
	if once && others {
		errs = append(errs, field.Forbidden(p, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

func pvCapacity(capacity map[string]*metav1.Quantity, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(capacity) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	if _, ok := capacity["storage"]; !ok || len(capacity) > 1 {
		var shown map[string]string
		for k, q := range capacity {
			if shown == nil {
				shown = map[string]string{}
			}
			shown[k] = q.GetString_()
		}
		errs = append(errs, field.NotSupported(p, jsonValue{shown}, []string{"storage"}))
	}
	for _, name := range sortedKeys(capacity) {
		kp := p.Key(name)
		v, err := resource.ParseQuantity(capacity[name].GetString_())
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(kp, capacity[name].GetString_(), err.Error()))
		case v.Sign() <= 0:
			errs = append(errs, field.Invalid(kp, v.String(), "must be greater than zero"))
		}
	}
	return errs
}

// pvSource checks that exactly one source is given, and that one.
func pvSource(src *corev1.PersistentVolumeSource, affinity bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var set []string
	if src != nil {
		m := src.ProtoReflect()
		for i, fields := 0, m.Descriptor().Fields(); i < fields.Len(); i++ {
			if fd := fields.Get(i); m.Has(fd) {
				set = append(set, fd.JSONName())
			}
		}
	}
	if len(set) == 0 {
		return field.ErrorList{field.Required(p, "must specify a volume type")}
	}
	for _, extra := range set[1:] {
		errs = append(errs, field.Forbidden(p.Child(extra), "may not specify more than 1 volume type"))
	}
	switch set[0] {
	case "hostPath":
		hp, hpp := src.GetHostPath(), p.Child("hostPath")
		if hp.GetPath() == "" {
			return append(errs, field.Required(hpp.Child("path"), ""))
		}
		errs = append(errs, noBacksteps(hp.GetPath(), hpp.Child("path"))...)
		if hp.Type != nil && !slices.Contains(hostPathTypes, hp.GetType()) {
			errs = append(errs, field.NotSupported(hpp.Child("type"), hp.GetType(), hostPathTypes))
		}
	case "nfs":
		errs = append(errs, nfsSource(src.GetNfs(), p.Child("nfs"))...)
	case "local":
		lp := p.Child("local", "path")
		if src.GetLocal().GetPath() == "" {
			errs = append(errs, field.Required(lp, ""))
		} else {
			errs = append(errs, noBacksteps(src.GetLocal().GetPath(), lp)...)
		}
		if !affinity {
			errs = append(errs, field.Required(p.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
	case "csi":
		errs = append(errs, csiSource(src.GetCsi(), p.Child("csi"))...)
	}
	return errs
}

func nfsSource(nfs *corev1.NFSVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if nfs.GetServer() == "" {
		errs = append(errs, field.Required(p.Child("server"), ""))
	}
	if nfs.GetPath() == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	if !path.IsAbs(nfs.GetPath()) {
		errs = append(errs, field.Invalid(p.Child("path"), nfs.GetPath(), "must be an absolute path"))
	}
	return errs
}

func csiSource(csi *corev1.CSIPersistentVolumeSource, p *field.Path) field.ErrorList {
	errs := ValidateCSIDriverName(csi.GetDriver(), p.Child("driver"))
	if csi.GetVolumeHandle() == "" {
		errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
	}
	refs := []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.GetControllerPublishSecretRef()},
		{"controllerExpandSecretRef", csi.GetControllerExpandSecretRef()},
		{"nodeStageSecretRef", csi.GetNodeStageSecretRef()},
		{"nodePublishSecretRef", csi.GetNodePublishSecretRef()},
		{"nodeExpandSecretRef", csi.GetNodeExpandSecretRef()},
	}
	for _, r := range refs {
		if r.ref != nil {
			errs = append(errs, pvSecretRef(r.ref, p.Child(r.name))...)
		}
	}
	return errs
}

func pvSecretRef(ref *corev1.SecretReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.GetName() == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, invalid(p.Child("name"), ref.GetName(), validation.IsDNS1123Subdomain(ref.GetName()))...)
	}
	if ref.GetNamespace() == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	} else {
		errs = append(errs, invalid(p.Child("namespace"), ref.GetNamespace(), validation.IsDNS1123Label(ref.GetNamespace()))...)
	}
	return errs
}

// ValidateCSIDriverName checks a CSI driver's name: at most 63
// characters, a DNS subdomain once lowercased.
func ValidateCSIDriverName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(p, 63))
	}
	return append(errs, invalid(p, name, validation.IsDNS1123Subdomain(strings.ToLower(name)))...)
}

// ValidatePersistentVolumeUpdate keeps what Kubernetes keeps: the source
// (a CSI controllerExpandSecretRef may be added), the volume mode, a node
// affinity once set, and a volume attributes class once set.
func ValidatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	src, oldSrc := pv.GetSpec().GetPersistentVolumeSource(), old.GetSpec().GetPersistentVolumeSource()
	if oldSrc.GetCsi() != nil && oldSrc.GetCsi().GetControllerExpandSecretRef() == nil && src.GetCsi().GetControllerExpandSecretRef() != nil {
		src = proto.Clone(src).(*corev1.PersistentVolumeSource)
		src.Csi.ControllerExpandSecretRef = nil
	}
	if !proto.Equal(src, oldSrc) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is immutable after creation"))
	}
	if pv.GetSpec().GetVolumeMode() != old.GetSpec().GetVolumeMode() || (pv.GetSpec().VolumeMode == nil) != (old.GetSpec().VolumeMode == nil) {
		errs = append(errs, immutable(field.NewPath("volumeMode"), pv.GetSpec().GetVolumeMode()))
	}
	if old.GetSpec().GetNodeAffinity() != nil && !proto.Equal(pv.GetSpec().GetNodeAffinity(), gaKeys(old.GetSpec().GetNodeAffinity(), pv.GetSpec().GetNodeAffinity())) {
		errs = append(errs, field.Invalid(field.NewPath("nodeAffinity"), protoJSON{pv.GetSpec().GetNodeAffinity()}, "field is immutable, except for updating from beta label to GA"))
	}
	if old.GetSpec().VolumeAttributesClassName != nil && pv.GetSpec().VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

// betaToGALabel maps the beta node labels to the GA ones that replaced
// them; a volume's node affinity may move from the one to the other.
var betaToGALabel = map[string]string{
	"failure-domain.beta.kubernetes.io/zone":   "topology.kubernetes.io/zone",
	"failure-domain.beta.kubernetes.io/region": "topology.kubernetes.io/region",
	"beta.kubernetes.io/os":                    "kubernetes.io/os",
	"beta.kubernetes.io/arch":                  "kubernetes.io/arch",
	"beta.kubernetes.io/instance-type":         "node.kubernetes.io/instance-type",
}

// gaKeys is a copy of the old node affinity in which each requirement
// whose beta key the new affinity, at the same place, replaces by its GA
// key has that GA key, so that such a change compares equal.
func gaKeys(old, next *corev1.VolumeNodeAffinity) *corev1.VolumeNodeAffinity {
	old = proto.CloneOf(old)
	oldTerms, nextTerms := old.GetRequired().GetNodeSelectorTerms(), next.GetRequired().GetNodeSelectorTerms()
	for i := range min(len(oldTerms), len(nextTerms)) {
		renameBetaKeys(oldTerms[i].GetMatchExpressions(), nextTerms[i].GetMatchExpressions())
		renameBetaKeys(oldTerms[i].GetMatchFields(), nextTerms[i].GetMatchFields())
	}
	return old
}

func renameBetaKeys(old, next []*corev1.NodeSelectorRequirement) {
	for j := range min(len(old), len(next)) {
		if ga, ok := betaToGALabel[old[j].GetKey()]; ok && ga == next[j].GetKey() {
			old[j].Key = ga
		}
	}
}
