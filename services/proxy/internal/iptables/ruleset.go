package iptables

import (
	"slices"
	"strings"
)

// table is the part of one iptables table the backend owns: its SKIFF-
// chains in the order they were declared, each with its rules as they follow
// "-A CHAIN " in iptables-restore input.
type table struct {
	name   string
	chains []string
	rules  map[string][]string
}

func newTable(name string) *table {
	return &table{name: name, rules: map[string][]string{}}
}

// chain declares a chain, which may stay empty; declaring twice is harmless.
func (t *table) chain(name string) {
	if _, ok := t.rules[name]; !ok {
		t.chains = append(t.chains, name)
		t.rules[name] = nil
	}
}

// rule appends a rule made of args to chain, declaring the chain if needed.
func (t *table) rule(chain string, args ...string) {
	t.chain(chain)
	t.rules[chain] = append(t.rules[chain], strings.Join(args, " "))
}

// has reports whether the table declares chain.
func (t *table) has(chain string) bool {
	_, ok := t.rules[chain]
	return ok
}

// count is how many rules the table's chains hold.
func (t *table) count() int {
	n := 0
	for _, rs := range t.rules {
		n += len(rs)
	}
	return n
}

// changedSince lists the chains of t whose rules differ from those in old
// (new chains included), in t's order. A nil old changes every chain.
func (t *table) changedSince(old *table) []string {
	var changed []string
	for _, c := range t.chains {
		if old == nil || !old.has(c) || !slices.Equal(old.rules[c], t.rules[c]) {
			changed = append(changed, c)
		}
	}
	return changed
}

// unwanted lists the chains in have that t does not declare.
func (t *table) unwanted(have []string) []string {
	var gone []string
	for _, c := range have {
		if !t.has(c) {
			gone = append(gone, c)
		}
	}
	return gone
}

// comment is a comment match; text never holds a double quote (it is built
// from DNS labels), so quoting it is enough for iptables-restore.
func comment(text string) string {
	return `-m comment --comment "` + text + `"`
}
