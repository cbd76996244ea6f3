package nftables

import (
	"fmt"
	"strings"
)

// script collects nft commands by kind so that the rendered transaction
// creates every chain and set before a rule or map element refers to it.
type script struct {
	chains, sets, rules, elements []string
}

func (s *script) chain(name string) {
	s.chains = append(s.chains, fmt.Sprintf("add chain %s %s %s", Family, Table, name))
}

// baseChain adds a chain attached to a netfilter hook.
func (s *script) baseChain(name, kind, hook, priority string) {
	s.chains = append(s.chains, fmt.Sprintf("add chain %s %s %s { type %s hook %s priority %s ; policy accept ; }",
		Family, Table, name, kind, hook, priority))
}

func (s *script) set(kind, name, spec string) {
	s.sets = append(s.sets, fmt.Sprintf("add %s %s %s %s { %s }", kind, Family, Table, name, spec))
}

func (s *script) rule(chain string, parts ...string) {
	s.rules = append(s.rules, fmt.Sprintf("add rule %s %s %s %s", Family, Table, chain, strings.Join(parts, " ")))
}

func (s *script) element(set, elem string) {
	s.elements = append(s.elements, fmt.Sprintf("add element %s %s %s { %s }", Family, Table, set, elem))
}

// String is the whole transaction: it deletes the table if present (the
// add-then-delete pair works whether or not it exists) and rebuilds it.
func (s *script) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "add table %s %s\n", Family, Table)
	fmt.Fprintf(&b, "delete table %s %s\n", Family, Table)
	fmt.Fprintf(&b, "add table %s %s\n", Family, Table)
	for _, part := range [][]string{s.chains, s.sets, s.rules, s.elements} {
		for _, line := range part {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
