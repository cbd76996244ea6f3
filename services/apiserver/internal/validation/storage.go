package validation

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	storagev1 "skiff.dev/api/storage/v1"
	"skiff.dev/pkg/kjson"
	"skiff.dev/services/apiserver/internal/field"
)

var (
	classReclaimPolicies = []string{"Delete", "Retain"}
	volumeBindingModes   = []string{"Immediate", "WaitForFirstConsumer"}
	fsGroupPolicies      = []string{"File", "None", "ReadWriteOnceWithFSType"}
	lifecycleModes       = []string{"Persistent", "Ephemeral"}
)

// ValidateStorageClass checks a class as Kubernetes does: a provisioner
// that is a qualified name, at most 512 parameters with non-empty keys
// (256 kB in all), a reclaim policy Delete or Retain, a binding mode, and
// allowed topologies without duplicates.
func ValidateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	pp := field.NewPath("provisioner")
	if sc.GetProvisioner() == "" {
		errs = append(errs, field.Required(pp, ""))
	} else {
		errs = append(errs, invalid(pp, strings.ToLower(sc.GetProvisioner()), validation.IsQualifiedName(strings.ToLower(sc.GetProvisioner())))...)
	}
	errs = append(errs, provisionerParameters(sc.GetParameters(), field.NewPath("parameters"))...)
	if rp := sc.GetReclaimPolicy(); rp != "" && !slices.Contains(classReclaimPolicies, rp) {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), rp, classReclaimPolicies))
	}
	bp := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(bp, ""))
	} else if !slices.Contains(volumeBindingModes, sc.GetVolumeBindingMode()) {
		errs = append(errs, field.NotSupported(bp, sc.GetVolumeBindingMode(), volumeBindingModes))
	}
	var seen []map[string]map[string]bool
	for i, term := range sc.GetAllowedTopologies() {
		tp := field.NewPath("allowedTopologies").Index(i)
		exprs, terr := validateTopologySelectorTerm(term, tp)
		errs = append(errs, terr...)
		if slices.ContainsFunc(seen, func(s map[string]map[string]bool) bool { return maps.EqualFunc(s, exprs, maps.Equal[map[string]bool]) }) {
			errs = append(errs, field.Duplicate(tp.Child("matchLabelExpressions"), ""))
		}
		seen = append(seen, exprs)
	}
	return errs
}

func provisionerParameters(params map[string]string, p *field.Path) field.ErrorList {
	if len(params) > 512 {
		return field.ErrorList{field.TooLong(p, 512)}
	}
	var errs field.ErrorList
	size := 0
	for _, k := range sortedKeys(params) {
		if k == "" {
			errs = append(errs, field.Invalid(p, k, "field can not be empty."))
		}
		size += len(k) + len(params[k])
	}
	if size > 256*(1<<10) {
		errs = append(errs, field.TooLong(p, 256*(1<<10)))
	}
	return errs
}

// ValidateStorageClassUpdate: parameters, provisioner, reclaim policy and
// binding mode never change.
func ValidateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	var errs field.ErrorList
	if !maps.Equal(sc.GetParameters(), old.GetParameters()) {
		errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.GetProvisioner() != old.GetProvisioner() {
		errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if sc.GetReclaimPolicy() != old.GetReclaimPolicy() {
		errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	if sc.GetVolumeBindingMode() != old.GetVolumeBindingMode() {
		errs = append(errs, immutable(field.NewPath("volumeBindingMode"), sc.GetVolumeBindingMode()))
	}
	return errs
}

// ValidateCSIDriver checks a driver's spec: attachRequired,
// podInfoOnMount, storageCapacity and seLinuxMount set (the defaults set
// them), a known fsGroupPolicy and lifecycle modes, token requests of 10
// minutes to 2^32 seconds with distinct audiences.
func ValidateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	var errs field.ErrorList
	sp, p := d.GetSpec(), field.NewPath("spec")
	if sp == nil {
		sp = &storagev1.CSIDriverSpec{}
	}
	required := []struct {
		name string
		set  bool
	}{{"attachedRequired", sp.AttachRequired != nil}, {"podInfoOnMount", sp.PodInfoOnMount != nil},
		{"storageCapacity", sp.StorageCapacity != nil}}
	for _, r := range required {
		if !r.set {
			errs = append(errs, field.Required(p.Child(r.name), ""))
		}
	}
	if sp.FsGroupPolicy != nil && !slices.Contains(fsGroupPolicies, sp.GetFsGroupPolicy()) {
		errs = append(errs, field.NotSupported(p.Child("fsGroupPolicy"), sp.GetFsGroupPolicy(), fsGroupPolicies))
	}
	errs = append(errs, tokenRequests(sp.GetTokenRequests(), p.Child("tokenRequests"))...)
	for _, m := range sp.GetVolumeLifecycleModes() {
		if !slices.Contains(lifecycleModes, m) {
			errs = append(errs, field.NotSupported(p.Child("volumeLifecycleModes"), m, lifecycleModes))
		}
	}
	if sp.SeLinuxMount == nil {
		errs = append(errs, field.Required(p.Child("seLinuxMount"), ""))
	}
	if s := sp.NodeAllocatableUpdatePeriodSeconds; s != nil && *s < 10 {
		errs = append(errs, field.Invalid(p.Child("nodeAllocatableUpdatePeriodSeconds"), *s, "must be greater than or equal to 10 seconds"))
	}
	return errs
}

func tokenRequests(reqs []*storagev1.TokenRequest, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	audiences := map[string]bool{}
	for i, r := range reqs {
		ip := p.Index(i)
		if audiences[r.GetAudience()] {
			errs = append(errs, field.Duplicate(ip.Child("audience"), r.GetAudience()))
			continue
		}
		audiences[r.GetAudience()] = true
		if s := r.ExpirationSeconds; s != nil {
			if *s < 600 {
				errs = append(errs, field.Invalid(ip.Child("expirationSeconds"), *s, "may not specify a duration less than 10 minutes"))
			}
			if *s > 1<<32 {
				errs = append(errs, field.Invalid(ip.Child("expirationSeconds"), *s, "may not specify a duration larger than 2^32 seconds"))
			}
		}
	}
	return errs
}

// ValidateCSIDriverUpdate: attachRequired and volumeLifecycleModes never
// change (Kubernetes reports the first at spec.attachedRequired).
func ValidateCSIDriverUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	var errs field.ErrorList
	if d.GetSpec().GetAttachRequired() != old.GetSpec().GetAttachRequired() {
		errs = append(errs, immutable(field.NewPath("spec", "attachedRequired"), d.GetSpec().GetAttachRequired()))
	}
	if !slices.Equal(d.GetSpec().GetVolumeLifecycleModes(), old.GetSpec().GetVolumeLifecycleModes()) {
		errs = append(errs, immutable(field.NewPath("spec", "volumeLifecycleModes"), d.GetSpec().GetVolumeLifecycleModes()))
	}
	return errs
}

// csiNodeIDMaxLength is the longest node ID a CSINode driver may have: 256,
// as Kubernetes' CSINode strategy allows (AllowLongNodeID) since 1.19.
const csiNodeIDMaxLength = 256

// ValidateCSINode checks each driver: a CSI driver name used once, a node
// ID of at most csiNodeIDMaxLength characters, a non-negative allocatable count and
// distinct qualified topology keys.
func ValidateCSINode(n *storagev1.CSINode) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, d := range n.GetSpec().GetDrivers() {
		dp := field.NewPath("spec", "drivers").Index(i)
		errs = append(errs, ValidateCSIDriverName(d.GetName(), dp.Child("name"))...)
		if d.GetNodeId() == "" {
			errs = append(errs, field.Required(dp.Child("nodeID"), ""))
		}
		if len(d.GetNodeId()) > csiNodeIDMaxLength {
			errs = append(errs, field.Invalid(dp.Child("nodeID"), d.GetNodeId(), fmt.Sprintf("must be %d characters or less", csiNodeIDMaxLength)))
		}
		if c := d.GetAllocatable().GetCount(); d.GetAllocatable() != nil && d.GetAllocatable().Count != nil {
			errs = append(errs, nonNegative(int64(c), dp.Child("allocatable", "count"))...)
		}
		if names[d.GetName()] {
			errs = append(errs, field.Duplicate(dp.Child("name"), d.GetName()))
		}
		names[d.GetName()] = true
		keys := map[string]bool{}
		for _, k := range d.GetTopologyKeys() {
			if k == "" {
				errs = append(errs, field.Required(dp, ""))
			}
			if keys[k] {
				errs = append(errs, field.Duplicate(dp, k))
			}
			keys[k] = true
			errs = append(errs, invalid(dp, k, validation.IsQualifiedName(k))...)
		}
	}
	return errs
}

// ValidateCSINodeUpdate: a driver already listed never changes, but for
// its allocatable count.
func ValidateCSINodeUpdate(n, old *storagev1.CSINode) field.ErrorList {
	var errs field.ErrorList
	for _, od := range old.GetSpec().GetDrivers() {
		for _, nd := range n.GetSpec().GetDrivers() {
			if od.GetName() != nd.GetName() {
				continue
			}
			a, b := proto.Clone(nd).(*storagev1.CSINodeDriver), proto.Clone(od).(*storagev1.CSINodeDriver)
			a.Allocatable, b.Allocatable = nil, nil
			if !proto.Equal(a, b) {
				errs = append(errs, immutable(field.NewPath("spec", "drivers"), protoJSON{nd}))
			}
		}
	}
	return errs
}

// ValidateVolumeAttachment checks the attacher (a CSI driver name), the
// source (exactly one of a PersistentVolume's name and an inline CSI
// spec), the node name and the status's sizes.
func ValidateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	var errs field.ErrorList
	sp, p := va.GetSpec(), field.NewPath("spec")
	if sp.GetAttacher() == "" {
		errs = append(errs, field.Required(p.Child("attacher"), ""))
	}
	src, sp2 := sp.GetSource(), p.Child("source")
	if src == nil {
		src = &storagev1.VolumeAttachmentSource{}
	}
	switch {
	case src.GetInlineVolumeSpec() == nil && src.PersistentVolumeName == nil:
		errs = append(errs, field.Required(sp2, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.GetInlineVolumeSpec() != nil && src.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(sp2, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil:
		if src.GetPersistentVolumeName() == "" {
			errs = append(errs, field.Required(sp2.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
		}
	default:
		errs = append(errs, ValidatePersistentVolumeSpec(src.GetInlineVolumeSpec(), true, sp2.Child("inlineVolumeSpec"))...)
	}
	errs = append(errs, invalid(p.Child("nodeName"), sp.GetNodeName(), validation.IsDNS1123Subdomain(sp.GetNodeName()))...)
	errs = append(errs, volumeAttachmentStatus(va.GetStatus(), field.NewPath("status"))...)
	// storage.k8s.io/v1 also checks the attacher and the volume's name.
	errs = append(errs, ValidateCSIDriverName(sp.GetAttacher(), field.NewPath("spec.attacher"))...)
	if src.PersistentVolumeName != nil {
		errs = append(errs, invalid(field.NewPath("spec.source.persistentVolumeName"), src.GetPersistentVolumeName(),
			validation.IsDNS1123Subdomain(src.GetPersistentVolumeName()))...)
	}
	return errs
}

func volumeAttachmentStatus(st *storagev1.VolumeAttachmentStatus, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for k, v := range st.GetAttachmentMetadata() {
		size += len(k) + len(v)
	}
	if size > 256*(1<<10) {
		errs = append(errs, field.TooLong(p.Child("attachmentMetadata"), 256*(1<<10)))
	}
	errs = append(errs, volumeError(st.GetAttachError(), p.Child("attachError"))...)
	return append(errs, volumeError(st.GetDetachError(), p.Child("detachError"))...)
}

// volumeError checks an attach or detach error: a message of at most 1024
// bytes (reported with the metadata limit, as Kubernetes does) and a
// non-negative code.
func volumeError(e *storagev1.VolumeError, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e == nil {
		return nil
	}
	if len(e.GetMessage()) > 1024 {
		errs = append(errs, field.TooLong(p.Child("message"), 256*(1<<10)))
	}
	if e.ErrorCode != nil && *e.ErrorCode < 0 {
		errs = append(errs, field.Invalid(p.Child("errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, 1<<31-1)))
	}
	return errs
}

// ValidateVolumeAttachmentUpdate: the spec never changes.
func ValidateVolumeAttachmentUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	if !proto.Equal(va.GetSpec(), old.GetSpec()) {
		return field.ErrorList{immutable(field.NewPath("spec"), protoJSON{va.GetSpec()})}
	}
	return nil
}

// ValidateCSIStorageCapacity checks the node topology selector, the class
// name (a DNS subdomain) and a non-negative capacity.
func ValidateCSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	var errs field.ErrorList
	if c.GetNodeTopology() != nil {
		errs = append(errs, validateLabelSelector(c.GetNodeTopology(), field.NewPath("nodeTopology"))...)
	}
	errs = append(errs, invalid(field.NewPath("storageClassName"), c.GetStorageClassName(), validation.IsDNS1123Subdomain(c.GetStorageClassName()))...)
	if q := c.GetCapacity(); q != nil {
		v, err := resource.ParseQuantity(q.GetString_())
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(field.NewPath("capacity"), q.GetString_(), err.Error()))
		case v.Sign() < 0:
			errs = append(errs, field.Invalid(field.NewPath("capacity"), v.String(), "must be greater than or equal to 0"))
		}
	}
	return errs
}

// ValidateCSIStorageCapacityUpdate: the topology and the class never
// change.
func ValidateCSIStorageCapacityUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	var errs field.ErrorList
	if !proto.Equal(c.GetNodeTopology(), old.GetNodeTopology()) {
		errs = append(errs, immutable(field.NewPath("nodeTopology"), protoJSON{c.GetNodeTopology()}))
	}
	if c.GetStorageClassName() != old.GetStorageClassName() {
		errs = append(errs, immutable(field.NewPath("storageClassName"), c.GetStorageClassName()))
	}
	return errs
}

// protoJSON shows a message in an error as its Kubernetes JSON.
type protoJSON struct{ m proto.Message }

func (p protoJSON) String() string {
	if p.m == nil || !p.m.ProtoReflect().IsValid() {
		return "null"
	}
	b, err := kjson.Marshal(p.m)
	if err != nil {
		return fmt.Sprintf("%v", p.m)
	}
	return string(b)
}
