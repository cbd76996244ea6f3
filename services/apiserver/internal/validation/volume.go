package validation

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

const fileModeError = "must be a number between 0 and 0777 (octal), both inclusive"

var hostPathTypes = []string{"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"}

// validateVolumes checks a pod's volumes and returns the names of the
// valid ones, which volume mounts may refer to.
func validateVolumes(vols []*corev1.Volume, path *field.Path) (map[string]bool, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, v := range vols {
		p := path.Index(i)
		verrs := validateVolumeSource(v.GetVolumeSource(), p)
		if v.GetName() == "" {
			verrs = append(verrs, field.Required(p.Child("name"), ""))
		} else {
			verrs = append(verrs, invalid(p.Child("name"), v.GetName(), validation.IsDNS1123Label(v.GetName()))...)
		}
		if names[v.GetName()] {
			verrs = append(verrs, field.Duplicate(p.Child("name"), v.GetName()))
		}
		if len(verrs) == 0 {
			names[v.GetName()] = true
		}
		errs = append(errs, verrs...)
	}
	return names, errs
}

// validateVolumeSource checks that exactly one source is given and that it
// is well formed.
func validateVolumeSource(src *corev1.VolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var set []string
	if src != nil {
		// In field order: Range's order is unspecified.
		m := src.ProtoReflect()
		for i, fields := 0, m.Descriptor().Fields(); i < fields.Len(); i++ {
			if fd := fields.Get(i); m.Has(fd) {
				set = append(set, fd.JSONName())
			}
		}
	}
	switch {
	case len(set) == 0:
		return field.ErrorList{field.Required(p, "must specify a volume type")}
	case len(set) > 1:
		errs = append(errs, field.Forbidden(p.Child(set[1]), "may not specify more than 1 volume type"))
	}
	if hp := src.GetHostPath(); hp != nil {
		hpp := p.Child("hostPath")
		if hp.GetPath() == "" {
			errs = append(errs, field.Required(hpp.Child("path"), ""))
		} else {
			errs = append(errs, noBacksteps(hp.GetPath(), hpp.Child("path"))...)
		}
		if hp.Type != nil && !slices.Contains(hostPathTypes, hp.GetType()) {
			errs = append(errs, field.NotSupported(hpp.Child("type"), hp.GetType(), hostPathTypes))
		}
	}
	if ed := src.GetEmptyDir(); ed != nil && ed.SizeLimit != nil {
		if _, err := quantity(ed.GetSizeLimit(), p.Child("emptyDir", "sizeLimit")); err != nil {
			errs = append(errs, err)
		}
	}
	if s := src.GetSecret(); s != nil {
		sp := p.Child("secret")
		if s.GetSecretName() == "" {
			errs = append(errs, field.Required(sp.Child("secretName"), ""))
		}
		errs = append(errs, fileMode(s.DefaultMode, sp.Child("defaultMode"))...)
		errs = append(errs, keysToPaths(s.GetItems(), sp.Child("items"))...)
	}
	if cm := src.GetConfigMap(); cm != nil {
		cp := p.Child("configMap")
		if cm.GetLocalObjectReference().GetName() == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		}
		errs = append(errs, fileMode(cm.DefaultMode, cp.Child("defaultMode"))...)
		errs = append(errs, keysToPaths(cm.GetItems(), cp.Child("items"))...)
	}
	if pvc := src.GetPersistentVolumeClaim(); pvc != nil && pvc.GetClaimName() == "" {
		errs = append(errs, field.Required(p.Child("persistentVolumeClaim", "claimName"), ""))
	}
	if d := src.GetDownwardApi(); d != nil {
		dp := p.Child("downwardAPI")
		errs = append(errs, fileMode(d.DefaultMode, dp.Child("defaultMode"))...)
		errs = append(errs, downwardAPIFiles(d.GetItems(), dp.Child("items"))...)
	}
	if pr := src.GetProjected(); pr != nil {
		errs = append(errs, validateProjected(pr, p.Child("projected"))...)
	}
	return errs
}

func fileMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode < 0 || *mode > 0o777) {
		return field.ErrorList{field.Invalid(p, *mode, fileModeError)}
	}
	return nil
}

// keysToPaths checks the items projected from a ConfigMap or Secret.
func keysToPaths(items []*corev1.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		p := path.Index(i)
		if it.GetKey() == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
		errs = append(errs, filePath(it.GetPath(), p.Child("path"))...)
		errs = append(errs, fileMode(it.Mode, p.Child("mode"))...)
	}
	return errs
}

// filePath checks where a projected file lands: a relative path inside the
// volume that does not start with "..".
func filePath(target string, p *field.Path) field.ErrorList {
	if target == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := localDescendingPath(target, p)
	if strings.HasPrefix(target, "..") {
		errs = append(errs, field.Invalid(p, target, "must not start with '..'"))
	}
	return errs
}

func downwardAPIFiles(items []*corev1.DownwardAPIVolumeFile, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		p := path.Index(i)
		errs = append(errs, filePath(it.GetPath(), p.Child("path"))...)
		errs = append(errs, fileMode(it.Mode, p.Child("mode"))...)
		switch {
		case it.FieldRef != nil && it.ResourceFieldRef != nil:
			errs = append(errs, field.Invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		case it.FieldRef != nil:
			errs = append(errs, validateFieldRef(it.GetFieldRef(), volumeFieldPaths, p.Child("fieldRef"))...)
		case it.ResourceFieldRef != nil:
			errs = append(errs, validateResourceFieldRef(it.GetResourceFieldRef(), p.Child("resourceFieldRef"), true)...)
		default:
			errs = append(errs, field.Required(p, "one of fieldRef and resourceFieldRef is required"))
		}
	}
	return errs
}

func validateProjected(pr *corev1.ProjectedVolumeSource, path *field.Path) field.ErrorList {
	errs := fileMode(pr.DefaultMode, path.Child("defaultMode"))
	for i, s := range pr.GetSources() {
		p := path.Child("sources").Index(i)
		n := 0
		if sec := s.GetSecret(); sec != nil {
			n++
			if sec.GetLocalObjectReference().GetName() == "" {
				errs = append(errs, field.Required(p.Child("secret", "name"), ""))
			}
			errs = append(errs, keysToPaths(sec.GetItems(), p.Child("secret", "items"))...)
		}
		if cm := s.GetConfigMap(); cm != nil {
			n++
			if cm.GetLocalObjectReference().GetName() == "" {
				errs = append(errs, field.Required(p.Child("configMap", "name"), ""))
			}
			errs = append(errs, keysToPaths(cm.GetItems(), p.Child("configMap", "items"))...)
		}
		if d := s.GetDownwardApi(); d != nil {
			n++
			errs = append(errs, downwardAPIFiles(d.GetItems(), p.Child("downwardAPI", "items"))...)
		}
		if t := s.GetServiceAccountToken(); t != nil {
			n++
			tp := p.Child("serviceAccountToken")
			if t.GetPath() == "" {
				errs = append(errs, field.Required(tp.Child("path"), ""))
			}
			switch e := t.GetExpirationSeconds(); {
			case t.ExpirationSeconds == nil:
			case e < 600:
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), e, "may not specify a duration less than 10 minutes"))
			case e > 1<<32:
				errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), e, "may not specify a duration larger than 2^32 seconds"))
			}
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}
