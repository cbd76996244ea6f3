package job

import (
	"slices"
	"strconv"
	"strings"
)

// interval is a run of indexes, first to last inclusive.
type interval struct{ first, last int }

// intervals is a sorted list of disjoint, non-adjacent runs: the form of
// status.completedIndexes and status.failedIndexes ("1,3-5,7").
type intervals []interval

// parseIntervals reads an index list, dropping what is malformed or not
// below completions, as Kubernetes does with a status written by hand.
func parseIntervals(s string, completions int) intervals {
	var out intervals
	if s == "" {
		return out
	}
	var ixs []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			continue
		}
		b := a
		if ok {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				continue
			}
		}
		for i := a; i <= b && i < completions; i++ {
			ixs = append(ixs, i)
		}
	}
	slices.Sort(ixs)
	return out.with(slices.Compact(ixs))
}

// with returns the intervals with the sorted indexes added.
func (oi intervals) with(ixs []int) intervals {
	var add intervals
	for _, ix := range ixs {
		add = append(add, interval{ix, ix})
	}
	return oi.merge(add)
}

// merge is the union of two interval lists.
func (oi intervals) merge(other intervals) intervals {
	all := append(slices.Clone(oi), other...)
	slices.SortFunc(all, func(a, b interval) int { return a.first - b.first })
	var out intervals
	for _, iv := range all {
		if n := len(out); n > 0 && iv.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, iv.last)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// total counts the indexes.
func (oi intervals) total() int {
	n := 0
	for _, iv := range oi {
		n += iv.last - iv.first + 1
	}
	return n
}

// has reports whether ix is in the list.
func (oi intervals) has(ix int) bool {
	i, _ := slices.BinarySearchFunc(oi, ix, func(iv interval, ix int) int {
		switch {
		case iv.last < ix:
			return -1
		case iv.first > ix:
			return 1
		}
		return 0
	})
	return i < len(oi) && oi[i].first <= ix && ix <= oi[i].last
}

// String is the list as the status writes it: "0,2-4".
func (oi intervals) String() string {
	var b strings.Builder
	for i, iv := range oi {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.first))
		if iv.last > iv.first {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.last))
		}
	}
	return b.String()
}

// overlap counts how many of rule's indexes are in oi.
func (oi intervals) overlap(rule intervals) int {
	n := 0
	for _, r := range rule {
		for _, s := range oi {
			if lo, hi := max(r.first, s.first), min(r.last, s.last); hi >= lo {
				n += hi - lo + 1
			}
		}
	}
	return n
}
