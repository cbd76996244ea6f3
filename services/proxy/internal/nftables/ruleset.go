package nftables

import (
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/knftables"
)

// Ruleset is the table the proxy wants, as objects: chains with their
// rules, sets and maps, and the elements of each. Syncs compare two
// rulesets to write only what changed.
type Ruleset struct {
	chains map[string]*chain
	sets   map[string]*set
	// elements by set or map name, then by key ("a . b . c").
	elements map[string]map[string]element
}

type chain struct {
	base  *knftables.Chain // hook, type and priority; nil for regular chains
	rules []string
}

type set struct {
	spec knftables.Object // *knftables.Set or *knftables.Map
	// written marks the sets and maps whose whole content the proxy writes
	// (a full sync flushes them): the dispatch maps and cluster-ips.
	// Affinity sets are filled by the kernel and kept.
	written bool
}

type element struct {
	key, value []string
}

func newRuleset() *Ruleset {
	return &Ruleset{chains: map[string]*chain{}, sets: map[string]*set{}, elements: map[string]map[string]element{}}
}

// Rules is how many rules the table holds.
func (r *Ruleset) Rules() int {
	n := 0
	for _, c := range r.chains {
		n += len(c.rules)
	}
	return n
}

func (r *Ruleset) chain(name string) {
	if r.chains[name] == nil {
		r.chains[name] = &chain{}
	}
}

// baseChain adds a chain attached to a netfilter hook.
func (r *Ruleset) baseChain(name string, kind knftables.BaseChainType, hook knftables.BaseChainHook, priority string) {
	p := knftables.BaseChainPriority(priority)
	r.chains[name] = &chain{base: &knftables.Chain{Name: name, Type: &kind, Hook: &hook, Priority: &p}}
}

func (r *Ruleset) addMap(name, typ string) {
	r.sets[name] = &set{spec: &knftables.Map{Name: name, Type: typ}, written: true}
}

// addSet adds a set; written says the proxy writes all of its elements.
func (r *Ruleset) addSet(spec *knftables.Set, written bool) {
	r.sets[spec.Name] = &set{spec: spec, written: written}
}

func (r *Ruleset) rule(chain string, parts ...string) {
	r.chains[chain].rules = append(r.chains[chain].rules, strings.Join(parts, " "))
}

func (r *Ruleset) element(m string, key []string, value string) {
	if r.elements[m] == nil {
		r.elements[m] = map[string]element{}
	}
	r.elements[m][strings.Join(key, " . ")] = element{key: key, value: []string{value}}
}

// member adds key to set s.
func (r *Ruleset) member(s string, key ...string) {
	if r.elements[s] == nil {
		r.elements[s] = map[string]element{}
	}
	r.elements[s][strings.Join(key, " . ")] = element{key: key}
}

func (c *chain) object(name string) *knftables.Chain {
	if c.base != nil {
		return c.base
	}
	return &knftables.Chain{Name: name}
}

func (r *Ruleset) elementObject(m string, e element) *knftables.Element {
	if _, isMap := r.sets[m].spec.(*knftables.Map); isMap {
		return &knftables.Element{Map: m, Key: e.key, Value: e.value}
	}
	return &knftables.Element{Set: m, Key: e.key}
}

// Full writes the whole table into tx: every chain is created if missing and
// rewritten, the dispatch maps and cluster-ips refilled, and the chains and
// sets named in existing (what the kernel holds now) that the ruleset no
// longer wants are deleted. Affinity sets that stay are left alone, so
// clients stay pinned.
// existing maps "chain", "set" and "map" to names, as knftables' ListAll.
func (r *Ruleset) Full(tx *knftables.Transaction, existing map[string][]string) {
	tx.Add(&knftables.Table{})
	for _, name := range sortedKeys(r.chains) {
		c := r.chains[name].object(name)
		tx.Add(c)
		tx.Flush(c)
	}
	var staleChains []string
	for _, name := range existing["chain"] {
		if r.chains[name] == nil {
			staleChains = append(staleChains, name)
			tx.Flush(&knftables.Chain{Name: name})
		}
	}
	for _, name := range sortedKeys(r.sets) {
		tx.Add(r.sets[name].spec)
		if r.sets[name].written {
			tx.Flush(r.sets[name].spec)
		}
	}
	for _, name := range sortedKeys(r.chains) {
		for _, rule := range r.chains[name].rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: rule})
		}
	}
	for _, m := range sortedKeys(r.elements) {
		for _, k := range sortedKeys(r.elements[m]) {
			tx.Add(r.elementObject(m, r.elements[m][k]))
		}
	}
	for _, name := range staleChains {
		tx.Delete(&knftables.Chain{Name: name})
	}
	for _, name := range existing["set"] {
		if r.sets[name] == nil {
			tx.Delete(&knftables.Set{Name: name})
		}
	}
	for _, name := range existing["map"] {
		if r.sets[name] == nil {
			tx.Delete(&knftables.Map{Name: name})
		}
	}
}

// Diff writes into tx what turns old (the ruleset last written) into r:
// new chains and sets, rewritten chains whose rules changed, element
// changes, and deletions — ordered so nothing is deleted while referenced.
func (r *Ruleset) Diff(tx *knftables.Transaction, old *Ruleset) {
	for _, name := range sortedKeys(r.chains) {
		if old.chains[name] == nil {
			tx.Add(r.chains[name].object(name))
		}
	}
	for _, name := range sortedKeys(r.sets) {
		if old.sets[name] == nil {
			tx.Add(r.sets[name].spec)
		}
	}
	// Elements that go or change are removed before the chains they point to.
	for _, m := range sortedKeys(old.elements) {
		for _, k := range sortedKeys(old.elements[m]) {
			e, ok := r.elements[m][k]
			if !ok || !slices.Equal(e.value, old.elements[m][k].value) {
				tx.Delete(old.elementObject(m, old.elements[m][k]))
			}
		}
	}
	for _, name := range sortedKeys(r.chains) {
		c, was := r.chains[name], old.chains[name]
		if was != nil && slices.Equal(c.rules, was.rules) {
			continue
		}
		if was != nil {
			tx.Flush(c.object(name))
		}
		for _, rule := range c.rules {
			tx.Add(&knftables.Rule{Chain: name, Rule: rule})
		}
	}
	for _, m := range sortedKeys(r.elements) {
		for _, k := range sortedKeys(r.elements[m]) {
			e := r.elements[m][k]
			if was, ok := old.elements[m][k]; !ok || !slices.Equal(e.value, was.value) {
				tx.Add(r.elementObject(m, e))
			}
		}
	}
	var stale []string
	for _, name := range sortedKeys(old.chains) {
		if r.chains[name] == nil {
			stale = append(stale, name)
			tx.Flush(&knftables.Chain{Name: name})
		}
	}
	for _, name := range stale {
		tx.Delete(&knftables.Chain{Name: name})
	}
	for _, name := range sortedKeys(old.sets) {
		if r.sets[name] == nil {
			tx.Delete(old.sets[name].spec)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
