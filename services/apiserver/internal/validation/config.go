package validation

import (
	"encoding/json"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// maxDataBytes bounds the data of a ConfigMap or Secret, 1 MiB.
const maxDataBytes = 1 << 20

const immutableWhenSet = "field is immutable when `immutable` is set"

// ValidateConfigMap checks keys, that a key is in data or binaryData but
// not both, and the total size.
func ValidateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for _, k := range sortedKeys(cm.GetData()) {
		errs = append(errs, invalid(field.NewPath("data").Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(cm.GetData()[k])
	}
	for _, k := range sortedKeys(cm.GetBinaryData()) {
		errs = append(errs, invalid(field.NewPath("binaryData").Key(k), k, validation.IsConfigMapKey(k))...)
		if _, dup := cm.GetData()[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("binaryData"), k, "duplicate of key present in data"))
		}
		total += len(cm.GetBinaryData()[k])
	}
	if total > maxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath(""), maxDataBytes))
	}
	return errs
}

// ValidateConfigMapUpdate refuses changes to an immutable ConfigMap's data
// and turning immutability off.
func ValidateConfigMapUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	if !old.GetImmutable() {
		return nil
	}
	var errs field.ErrorList
	if !cm.GetImmutable() {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableWhenSet))
	}
	if !proto.Equal(&corev1.ConfigMap{Data: cm.GetData()}, &corev1.ConfigMap{Data: old.GetData()}) {
		errs = append(errs, field.Forbidden(field.NewPath("data"), immutableWhenSet))
	}
	if !proto.Equal(&corev1.ConfigMap{BinaryData: cm.GetBinaryData()}, &corev1.ConfigMap{BinaryData: old.GetBinaryData()}) {
		errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableWhenSet))
	}
	return errs
}

// ValidateSecret checks keys, the total size, and the keys each built-in
// type requires.
func ValidateSecret(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	data, dp := s.GetData(), field.NewPath("data")
	total := 0
	for _, k := range sortedKeys(data) {
		errs = append(errs, invalid(dp.Key(k), k, validation.IsConfigMapKey(k))...)
		total += len(data[k])
	}
	if total > maxDataBytes {
		errs = append(errs, field.TooLong(dp, maxDataBytes))
	}
	required := func(k string) {
		if _, ok := data[k]; !ok {
			errs = append(errs, field.Required(dp.Key(k), ""))
		}
	}
	jsonKey := func(k string) {
		if v, ok := data[k]; !ok {
			errs = append(errs, field.Required(dp.Key(k), ""))
		} else if !json.Valid(v) {
			var x any
			errs = append(errs, field.Invalid(dp.Key(k), "<secret contents redacted>", json.Unmarshal(v, &x).Error()))
		}
	}
	switch s.GetType() {
	case "kubernetes.io/service-account-token":
		if s.GetMetadata().GetAnnotations()["kubernetes.io/service-account.name"] == "" {
			errs = append(errs, field.Required(field.NewPath("metadata", "annotations").Key("kubernetes.io/service-account.name"), ""))
		}
	case "kubernetes.io/dockercfg":
		jsonKey(".dockercfg")
	case "kubernetes.io/dockerconfigjson":
		jsonKey(".dockerconfigjson")
	case "kubernetes.io/basic-auth":
		if len(data["username"]) == 0 && len(data["password"]) == 0 {
			errs = append(errs, field.Required(dp.Key("username"), ""), field.Required(dp.Key("password"), ""))
		}
	case "kubernetes.io/ssh-auth":
		if len(data["ssh-privatekey"]) == 0 {
			errs = append(errs, field.Required(dp.Key("ssh-privatekey"), ""))
		}
	case "kubernetes.io/tls":
		required("tls.crt")
		required("tls.key")
	}
	return errs
}

// ValidateSecretUpdate keeps the type, and the data of an immutable
// Secret.
func ValidateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	if s.GetType() != old.GetType() {
		errs = append(errs, immutable(field.NewPath("type"), s.GetType()))
	}
	if !old.GetImmutable() {
		return errs
	}
	if !s.GetImmutable() {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableWhenSet))
	}
	if !proto.Equal(&corev1.Secret{Data: s.GetData()}, &corev1.Secret{Data: old.GetData()}) {
		errs = append(errs, field.Forbidden(field.NewPath("data"), immutableWhenSet))
	}
	return errs
}

// ValidateServiceAccount checks the names of the secrets a service account
// refers to.
func ValidateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	var errs field.ErrorList
	for i, ref := range sa.GetImagePullSecrets() {
		if n := ref.GetName(); n != "" {
			errs = append(errs, invalid(field.NewPath("imagePullSecrets").Index(i).Child("name"), n, validation.IsDNS1123Subdomain(n))...)
		}
	}
	return errs
}
