package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	data := `[{"SpecReports": [
	{"LeafNodeType": "SynchronizedBeforeSuite", "State": "passed"},
	{"ContainerHierarchyTexts": ["[sig-node] Pods"], "LeafNodeType": "It", "LeafNodeText": "should get a host IP", "State": "passed"},
	{"ContainerHierarchyTexts": ["[sig-node] Pods"], "LeafNodeType": "It", "LeafNodeText": "should be updated", "State": "failed",
	 "Failure": {"Message": "\nTimed out after 300s.\nExpected pod to be running"}},
	{"ContainerHierarchyTexts": ["[sig-node] Pods", "inner"], "LeafNodeType": "It", "LeafNodeText": "should skip", "State": "skipped",
	 "Failure": {"Message": "Only supported for providers [gce]"}},
	{"ContainerHierarchyTexts": ["[sig-cli] Kubectl client"], "LeafNodeType": "It", "LeafNodeText": "not focused", "State": "skipped"},
	{"ContainerHierarchyTexts": ["[sig-api-machinery] Events"], "LeafNodeType": "It", "LeafNodeText": "should list", "State": "timedout"},
	{"ContainerHierarchyTexts": ["[sig-auth] ServiceAccounts"], "LeafNodeType": "It", "LeafNodeText": "should dump", "State": "failed",
	 "Failure": {"Message": "` + strings.Repeat("x", 300) + `"}},
	{"LeafNodeType": "SynchronizedAfterSuite", "State": "failed", "Failure": {"Message": "namespaces left"}}
]}]`
	var reports []report
	if err := json.Unmarshal([]byte(data), &reports); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	summarize(&out, reports)
	got := out.String()
	for _, want := range []string{
		"[sig-node] Pods             1       1       1\n",
		"total                       1       4       1\n",
		"should dump [failed]\n    " + strings.Repeat("x", 200) + " …\n",
		"[sig-node] Pods should be updated [failed]\n    Timed out after 300s.\n",
		"[sig-api-machinery] Events should list [timedout]\n    (no message)\n",
		"SynchronizedAfterSuite [failed]\n    namespaces left\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got summary\n%s\nwant it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "Kubectl") {
		t.Errorf("got summary\n%s\nwant no area for a spec the focus left out", got)
	}
}
