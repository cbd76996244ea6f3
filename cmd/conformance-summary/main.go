// Command conformance-summary reads the Ginkgo JSON report of an upstream
// Kubernetes e2e run (e2e.test --ginkgo.json-report) and prints how many
// specs passed, failed and were skipped per area (a spec's outermost
// Describe, e.g. "[sig-node] Pods"), then each failed spec with the first
// line of its failure. scripts/conformance.sh runs it after every run.
//
//	conformance-summary REPORT.json
//
// It exits 0 whatever the specs did, 2 when it cannot read the report.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// report is the part of a Ginkgo report (types.Report) read here.
type report struct {
	SpecReports []spec
}

// spec is the part of a Ginkgo spec report (types.SpecReport) read here.
type spec struct {
	ContainerHierarchyTexts []string
	LeafNodeType            string
	LeafNodeText            string
	State                   string
	Failure                 struct{ Message string }
}

// name is the spec's full text, as --ginkgo.focus matches it.
func (s spec) name() string {
	if s.LeafNodeText == "" && len(s.ContainerHierarchyTexts) == 0 {
		return s.LeafNodeType
	}
	return strings.Join(append(slices.Clone(s.ContainerHierarchyTexts), s.LeafNodeText), " ")
}

// area is the spec's outermost container, or its node type for the
// suite's own setup and teardown.
func (s spec) area() string {
	if len(s.ContainerHierarchyTexts) == 0 {
		return s.LeafNodeType
	}
	return s.ContainerHierarchyTexts[0]
}

// counts are one area's results.
type counts struct {
	area                    string
	passed, failed, skipped int
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: conformance-summary REPORT.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var reports []report
	if err := json.Unmarshal(data, &reports); err != nil {
		fmt.Fprintf(os.Stderr, "read %s: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	summarize(os.Stdout, reports)
}

// summarize writes the per-area table and the failures of reports to w.
// Specs that the focus left out (skipped without a reason) are not
// counted; a failed setup or teardown node (BeforeSuite, AfterSuite) is.
func summarize(w io.Writer, reports []report) {
	var areas []*counts
	byArea := map[string]*counts{}
	var failures []string
	total := counts{area: "total"}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != "It" && s.State == "passed" || s.State == "skipped" && s.Failure.Message == "" || s.State == "pending" {
				continue
			}
			c := byArea[s.area()]
			if c == nil {
				c = &counts{area: s.area()}
				byArea[s.area()] = c
				areas = append(areas, c)
			}
			switch s.State {
			case "passed":
				c.passed++
				total.passed++
			case "skipped":
				c.skipped++
				total.skipped++
			default: // failed, timedout, panicked, interrupted, aborted
				c.failed++
				total.failed++
				failures = append(failures, fmt.Sprintf("%s [%s]\n    %s", s.name(), s.State, firstLine(s.Failure.Message)))
			}
		}
	}
	slices.SortFunc(areas, func(a, b *counts) int { return strings.Compare(a.area, b.area) })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "area\tpassed\tfailed\tskipped")
	for _, c := range append(areas, &total) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", c.area, c.passed, c.failed, c.skipped)
	}
	tw.Flush()
	if len(failures) > 0 {
		fmt.Fprintln(w, "\nfailed:")
		for _, f := range failures {
			fmt.Fprintln(w, "  "+f)
		}
	}
}

// maxLine is the most of a failure's first line that is shown: a dumped
// object runs to thousands of characters on one line.
const maxLine = 200

// firstLine is the first non-empty line of msg, cut at maxLine.
func firstLine(msg string) string {
	for _, line := range strings.Split(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > maxLine {
				line = line[:maxLine] + " …"
			}
			return line
		}
	}
	return "(no message)"
}
