package registry

import (
	"context"
	"crypto/rand"
	"math/big"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/object"
)

// The alphabet Kubernetes uses for generated name suffixes: no vowels, no
// look-alikes, so no words are formed by accident.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffixLength is the length of a generated name's random suffix.
const suffixLength = 5

// MaxGenerateNameAttempts bounds how often a create with generateName is
// tried, each time with a new name, while the generated name is taken
// (Kubernetes' RetryGenerateName makes the same 8 attempts).
const MaxGenerateNameAttempts = 8

// suffixSource makes the random suffixes; nil means crypto/rand.
var suffixSource atomic.Pointer[func() string]

// SetSuffixSource makes generated names end in what next returns (it must
// return suffixes of valid name characters) until restore is called; tests
// use it to force collisions.
func SetSuffixSource(next func() string) (restore func()) {
	old := suffixSource.Swap(&next)
	return func() { suffixSource.Store(old) }
}

// GenerateName appends a random 5-character suffix to the prefix, keeping
// the result within 63 characters as Kubernetes does.
func GenerateName(prefix string) string {
	const maxPrefix = 63 - suffixLength
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + suffix()
}

func suffix() string {
	if next := suffixSource.Load(); next != nil {
		return (*next)()
	}
	return RandomSuffix()
}

// RandomSuffix is a random suffix of Kubernetes' alphabet, from
// crypto/rand: what generated names end in unless SetSuffixSource says
// otherwise.
func RandomSuffix() string {
	var b strings.Builder
	for range suffixLength {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(suffixAlphabet))))
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b.WriteByte(suffixAlphabet[n.Int64()])
	}
	return b.String()
}

// NeedsGeneratedName tells whether obj asks for a generated name: a
// generateName and no name.
func NeedsGeneratedName(obj proto.Message) bool {
	m := obj.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("metadata")
	if fd == nil || !m.Has(fd) {
		return false
	}
	meta, ok := m.Get(fd).Message().Interface().(*metav1.ObjectMeta)
	return ok && meta.GetName() == "" && meta.GetGenerateName() != ""
}

// CreateWithGeneratedName calls create with obj up to
// MaxGenerateNameAttempts times while the answer is AlreadyExists, each
// time with a new name generated from obj's generateName, as Kubernetes
// retries a generated name on the server. obj itself is not changed.
func CreateWithGeneratedName(ctx context.Context, obj proto.Message, create func(context.Context, proto.Message) (proto.Message, error)) (proto.Message, error) {
	var (
		out proto.Message
		err error
	)
	for range MaxGenerateNameAttempts {
		named := proto.Clone(obj)
		meta := object.Meta(named)
		meta.Name = GenerateName(meta.GetGenerateName())
		out, err = create(ctx, named)
		if !apierrors.IsAlreadyExists(err) {
			return out, err
		}
	}
	return out, err
}

// DNS1123Subdomain validates a name that may contain dots (most kinds).
func DNS1123Subdomain(name string) []string { return validation.IsDNS1123Subdomain(name) }

// DNS1123Label validates a name without dots (namespaces, services).
func DNS1123Label(name string) []string { return validation.IsDNS1123Label(name) }
