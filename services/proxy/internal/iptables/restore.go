package iptables

import (
	"bytes"
	"strings"
)

// listAbove is how many chains a restore may name before it starts with
// "-S". iptables-nft 1.8.9 with --noflush remembers each chain a command
// names in a list it searches linearly, so a restore naming N chains costs
// O(N²) (a full sync of 10,000 Services, 50,000 chains, took six minutes).
// A command naming no chain, such as -S, makes it fetch the whole table
// instead and skip the list: the same sync then takes seconds. -S only
// lists the table, to stdout, which the backend discards; below the
// threshold the listing would cost more than the search.
const listAbove = 1000

// restoreInput is iptables-restore input that rewrites the chains in write
// with t's rules and deletes those in remove, and how many lines it has
// besides the table header, COMMIT and -S. A chain line (":CHAIN - [0:0]")
// creates the chain or flushes it; deleted chains are flushed first so that
// rules in them do not keep other chains referenced.
func restoreInput(t *table, write, remove []string) ([]byte, int) {
	var buf bytes.Buffer
	n := 0
	header(&buf, t.name, len(write)+len(remove))
	for _, list := range [][]string{write, remove} {
		for _, c := range list {
			buf.WriteString(":" + c + " - [0:0]\n")
			n++
		}
	}
	for _, c := range write {
		for _, r := range t.rules[c] {
			buf.WriteString("-A " + c + " " + r + "\n")
			n++
		}
	}
	for _, c := range remove {
		buf.WriteString("-X " + c + "\n")
		n++
	}
	buf.WriteString("COMMIT\n")
	return buf.Bytes(), n
}

// savedChains lists the SKIFF- chains in iptables-save output.
func savedChains(saved string) []string {
	var chains []string
	for line := range strings.Lines(saved) {
		if rest, ok := strings.CutPrefix(line, ":"+chainPrefix); ok {
			name, _, _ := strings.Cut(rest, " ")
			chains = append(chains, chainPrefix+strings.TrimSpace(name))
		}
	}
	return chains
}

// cleanupInput is iptables-restore input that deletes, from the table saved
// as saved, every rule of a built-in chain that jumps to a SKIFF- chain and
// then every SKIFF- chain; n is zero when there is nothing to delete.
func cleanupInput(table, saved string) (input []byte, n int) {
	var jumps []string
	for line := range strings.Lines(saved) {
		line = strings.TrimRight(line, "\n")
		rule, ok := strings.CutPrefix(line, "-A ")
		if !ok || strings.HasPrefix(rule, chainPrefix) {
			continue
		}
		if strings.Contains(rule, " -j "+chainPrefix) || strings.Contains(rule, " -g "+chainPrefix) {
			jumps = append(jumps, "-D "+rule+"\n")
		}
	}
	chains := savedChains(saved)
	if len(jumps)+len(chains) == 0 {
		return nil, 0
	}
	var buf bytes.Buffer
	header(&buf, table, len(chains))
	for _, j := range jumps {
		buf.WriteString(j)
	}
	for _, c := range chains {
		buf.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range chains {
		buf.WriteString("-X " + c + "\n")
	}
	buf.WriteString("COMMIT\n")
	return buf.Bytes(), len(jumps) + 2*len(chains)
}

// header starts the input for a table that names chains chains.
func header(buf *bytes.Buffer, table string, chains int) {
	buf.WriteString("*" + table + "\n")
	if chains > listAbove {
		buf.WriteString("-S\n")
	}
}
