package registry

import (
	"crypto/rand"
	"math/big"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The alphabet Kubernetes uses for generated name suffixes: no vowels, no
// look-alikes, so no words are formed by accident.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// GenerateName appends a random 5-character suffix to the prefix, keeping
// the result within 63 characters as Kubernetes does.
func GenerateName(prefix string) string {
	const maxPrefix = 63 - 5
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	var b strings.Builder
	b.WriteString(prefix)
	for range 5 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(suffixAlphabet))))
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b.WriteByte(suffixAlphabet[n.Int64()])
	}
	return b.String()
}

// DNS1123Subdomain validates a name that may contain dots (most kinds).
func DNS1123Subdomain(name string) []string { return validation.IsDNS1123Subdomain(name) }

// DNS1123Label validates a name without dots (namespaces, services).
func DNS1123Label(name string) []string { return validation.IsDNS1123Label(name) }
