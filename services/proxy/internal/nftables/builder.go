package nftables

import "sigs.k8s.io/knftables"

// The exported builder lets another table's renderer (the network policy
// table) describe its chains, sets and maps as a Ruleset and reuse Full and
// Diff to write them.

// NewRuleset returns an empty ruleset.
func NewRuleset() *Ruleset { return newRuleset() }

// AddBaseChain adds a chain attached to a netfilter hook.
func (r *Ruleset) AddBaseChain(name string, kind knftables.BaseChainType, hook knftables.BaseChainHook, priority string) {
	r.baseChain(name, kind, hook, priority)
}

// AddChain adds a regular chain (a second call keeps its rules).
func (r *Ruleset) AddChain(name string) { r.chain(name) }

// AddRule appends a rule, its parts joined by spaces, to a chain added before.
func (r *Ruleset) AddRule(chain string, parts ...string) { r.rule(chain, parts...) }

// AddSet adds a set whose every element the renderer writes.
func (r *Ruleset) AddSet(spec *knftables.Set) { r.addSet(spec, true) }

// AddMap adds a map of the given type whose every element the renderer writes.
func (r *Ruleset) AddMap(name, typ string) { r.addMap(name, typ) }

// AddMember adds a key to a set.
func (r *Ruleset) AddMember(set string, key ...string) { r.member(set, key...) }

// AddElement adds key: value to a map.
func (r *Ruleset) AddElement(m string, key []string, value string) { r.element(m, key, value) }

// HasChain reports whether the ruleset holds a chain.
func (r *Ruleset) HasChain(name string) bool { return r.chains[name] != nil }

// HasSet reports whether the ruleset holds a set or map.
func (r *Ruleset) HasSet(name string) bool { return r.sets[name] != nil }
