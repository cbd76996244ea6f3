// Package bootstraptoken is Kubernetes' bootstrap token format, shared by
// the apiserver's authenticator and the controller-manager's token cleaner:
// a token "<id>.<secret>" (6 and 16 characters of [a-z0-9]) is backed by
// the Secret bootstrap-token-<id> in kube-system, of type
// bootstrap.kubernetes.io/token, whose data holds token-id, token-secret,
// an optional RFC 3339 expiration, the usage-bootstrap-* flags and
// auth-extra-groups. A token that authenticates names the user
// system:bootstrap:<id> in the groups system:bootstrappers and the extra
// groups, each of which must be a system:bootstrappers:<...> group.
package bootstraptoken

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// The Secret's name, namespace, type and data keys, Kubernetes' names.
const (
	Namespace    = "kube-system"
	SecretPrefix = "bootstrap-token-"
	SecretType   = "bootstrap.kubernetes.io/token"

	IDKey            = "token-id"
	SecretKey        = "token-secret"
	ExpirationKey    = "expiration"
	DescriptionKey   = "description"
	ExtraGroupsKey   = "auth-extra-groups"
	UsageAuthKey     = "usage-bootstrap-authentication"
	UsageSigningKey  = "usage-bootstrap-signing"
	UserPrefix       = "system:bootstrap:"
	DefaultGroup     = "system:bootstrappers"
	tokenIDChars     = 6
	tokenSecretChars = 16
)

var (
	tokenRe      = regexp.MustCompile(`\A([a-z0-9]{6})\.([a-z0-9]{16})\z`)
	secretNameRe = regexp.MustCompile(`\A` + regexp.QuoteMeta(SecretPrefix) + `([a-z0-9]{6})\z`)
	groupRe      = regexp.MustCompile(`\Asystem:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\z`)
)

// Parse splits a bearer token into its id and secret; ok is false for
// anything not of the bootstrap token's form.
func Parse(token string) (id, secret string, ok bool) {
	m := tokenRe.FindStringSubmatch(token)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// SecretName is the name of the Secret behind a token id.
func SecretName(id string) string { return SecretPrefix + id }

// IDOf is the token id a Secret's name carries, if it is a bootstrap
// token's name.
func IDOf(secretName string) (string, bool) {
	m := secretNameRe.FindStringSubmatch(secretName)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Data is one key of a Secret's data as a string ("" when absent).
func Data(s *corev1.Secret, key string) string { return string(s.GetData()[key]) }

// Expiration is the time left until the token expires, and whether it
// has: a token without an expiration never does; one whose expiration
// cannot be read has, as Kubernetes treats it.
func Expiration(s *corev1.Secret, now time.Time) (left time.Duration, expired bool) {
	v := Data(s, ExpirationKey)
	if v == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, true
	}
	left = t.Sub(now)
	if left <= 0 {
		return 0, true
	}
	return left, false
}

// Groups are the groups a token's user is in: system:bootstrappers and
// the auth-extra-groups, sorted and each once. An extra group outside
// system:bootstrappers:* is an error, and the token does not authenticate.
func Groups(s *corev1.Secret) ([]string, error) {
	groups := []string{DefaultGroup}
	if extra := Data(s, ExtraGroupsKey); extra != "" {
		for _, g := range strings.Split(extra, ",") {
			if !groupRe.MatchString(g) {
				return nil, fmt.Errorf("bootstrap group %q is invalid (must match %s)", g, groupRe)
			}
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

// Generate makes a new random token: its id and secret.
func Generate() (id, secret string) {
	const chars = "0123456789abcdefghijklmnopqrstuvwxyz"
	pick := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[randIndex(len(chars))]
		}
		return string(b)
	}
	return pick(tokenIDChars), pick(tokenSecretChars)
}

// randIndex is a uniform random number below n (n < 256).
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// Secret is the Secret behind a new token that authenticates, expiring at
// expires (zero: never), its user also in the extra groups.
func Secret(id, secret string, expires time.Time, extraGroups ...string) *corev1.Secret {
	data := map[string][]byte{
		IDKey: []byte(id), SecretKey: []byte(secret), UsageAuthKey: []byte("true"),
	}
	if !expires.IsZero() {
		data[ExpirationKey] = []byte(expires.UTC().Format(time.RFC3339))
	}
	if len(extraGroups) > 0 {
		data[ExtraGroupsKey] = []byte(strings.Join(extraGroups, ","))
	}
	return &corev1.Secret{
		Metadata: &metav1.ObjectMeta{Name: SecretName(id), Namespace: Namespace},
		Type:     SecretType, Data: data,
	}
}
