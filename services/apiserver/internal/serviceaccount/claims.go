package serviceaccount

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
)

// Claims are the claims of a service-account token, as Kubernetes writes
// them.
type Claims struct {
	Issuer    string      `json:"iss"`
	Subject   string      `json:"sub"`
	Audience  Audience    `json:"aud"`
	Expiry    NumericDate `json:"exp"`
	IssuedAt  NumericDate `json:"iat"`
	NotBefore NumericDate `json:"nbf"`
	ID        string      `json:"jti,omitempty"`
	// Kubernetes is the private kubernetes.io claim.
	Kubernetes *Private `json:"kubernetes.io,omitempty"`
}

// Private is the kubernetes.io claim: whose token it is and what it is
// bound to.
type Private struct {
	Namespace      string `json:"namespace"`
	ServiceAccount Ref    `json:"serviceaccount"`
	Pod            *Ref   `json:"pod,omitempty"`
	Secret         *Ref   `json:"secret,omitempty"`
	// Node is the node a bound pod was scheduled to when the token was
	// issued; its uid is empty if the node was not found.
	Node *Ref `json:"node,omitempty"`
	// WarnAfter is set on tokens whose lifetime the server extended: past
	// it the token still works, but its holder should have refreshed it.
	WarnAfter NumericDate `json:"warnafter,omitempty"`
}

// Ref names an object by name and uid.
type Ref struct {
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

// Audience is the aud claim: written as a list, read as a list or a
// single string (RFC 7519 allows both).
type Audience []string

// UnmarshalJSON accepts "a" and ["a", "b"].
func (a *Audience) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("aud: want a string or a list of strings")
	}
	*a = many
	return nil
}

// Intersects reports whether a names one of want.
func (a Audience) Intersects(want []string) bool {
	for _, x := range a {
		for _, y := range want {
			if x == y {
				return true
			}
		}
	}
	return false
}

// NumericDate is seconds since the Unix epoch; read from any JSON number.
type NumericDate int64

// UnmarshalJSON accepts integers and fractions (rounded down).
func (d *NumericDate) UnmarshalJSON(data []byte) error {
	var f float64
	if err := json.Unmarshal(data, &f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return errors.New("want a number of seconds")
	}
	*d = NumericDate(math.Floor(f))
	return nil
}

// Prefix of the user names of service accounts.
const userPrefix = "system:serviceaccount:"

// UserName is the Kubernetes user name of a service account.
func UserName(namespace, name string) string {
	return userPrefix + namespace + ":" + name
}

// splitUserName reads system:serviceaccount:NS:NAME.
func splitUserName(sub string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(sub, userPrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != "" && !strings.Contains(name, ":")
}
