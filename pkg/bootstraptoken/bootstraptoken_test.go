package bootstraptoken

import (
	"slices"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for token, want := range map[string]bool{
		"abcdef.0123456789abcdef":  true,
		"abcdef.0123456789abcde":   false, // 15 characters
		"abcdefg.0123456789abcdef": false,
		"abcdef:0123456789abcdef":  false,
		"Abcdef.0123456789abcdef":  false,
		"abcdef.0123456789abcdef ": false,
		"":                         false,
	} {
		id, secret, ok := Parse(token)
		if ok != want || ok && (id != "abcdef" || secret != "0123456789abcdef") {
			t.Errorf("Parse(%q) = %q, %q, %v; want ok = %v", token, id, secret, ok, want)
		}
	}
	if id, ok := IDOf("bootstrap-token-abcdef"); !ok || id != "abcdef" {
		t.Errorf("IDOf: %q %v", id, ok)
	}
	if _, ok := IDOf("bootstrap-token-abc"); ok {
		t.Error("IDOf took a short id")
	}
}

func TestExpirationAndGroups(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s := Secret("abcdef", "0123456789abcdef", now.Add(time.Minute), "system:bootstrappers:b", "system:bootstrappers:a")
	if left, expired := Expiration(s, now); expired || left != time.Minute {
		t.Errorf("Expiration: %v %v, want a minute left", left, expired)
	}
	if _, expired := Expiration(s, now.Add(time.Minute)); !expired {
		t.Error("not expired at its expiration")
	}
	groups, err := Groups(s)
	if err != nil || !slices.Equal(groups, []string{"system:bootstrappers", "system:bootstrappers:a", "system:bootstrappers:b"}) {
		t.Errorf("Groups: %q %v", groups, err)
	}
	s.Data[ExtraGroupsKey] = []byte("system:bootstrappers:ok,system:nodes")
	if _, err := Groups(s); err == nil {
		t.Error("took system:nodes as an extra group")
	}
	if _, expired := Expiration(Secret("abcdef", "0123456789abcdef", time.Time{}), now.Add(1000*time.Hour)); expired {
		t.Error("a token without an expiration expired")
	}
}

func TestGenerate(t *testing.T) {
	id, secret := Generate()
	if _, _, ok := Parse(id + "." + secret); !ok {
		t.Errorf("generated %q.%q, not a token", id, secret)
	}
}
