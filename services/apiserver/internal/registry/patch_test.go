package registry

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"skiff.dev/services/apiserver/internal/apierrors"
)

// A JSON patch of more than 10,000 operations is refused with 413 and
// Kubernetes' message before any is applied; one of 10,000 applies.
func TestJSONPatchOperationLimit(t *testing.T) {
	ops := func(n int) []byte {
		var b strings.Builder
		b.WriteString("[")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"op":"test","path":"/a","value":1}`)
		}
		b.WriteString("]")
		return []byte(b.String())
	}
	if _, err := ApplyPatchJSON([]byte(`{"a":1}`), Patch{Type: PatchJSON, Data: ops(MaxJSONPatchOperations)}, nil); err != nil {
		t.Fatalf("10,000 operations: %v", err)
	}
	_, err := ApplyPatchJSON([]byte(`{"a":1}`), Patch{Type: PatchJSON, Data: ops(MaxJSONPatchOperations + 1)}, nil)
	st := apierrors.ToStatus(err)
	if st.GetCode() != http.StatusRequestEntityTooLarge || st.GetMessage() != "The allowed maximum operations in a JSON patch is 10000, got 10001" {
		t.Fatalf("10,001 operations: got %d %q", st.GetCode(), st.GetMessage())
	}
}

// Copy operations may not grow the document past 3 MiB, as in
// kube-apiserver: 40 copies that each double it are refused with 422
// instead of building a document of 2^40 times its size.
func TestJSONPatchCopySizeLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[{"op":"add","path":"/a","value":{"v":"` + strings.Repeat("x", 64) + `"}}`)
	for i := range 40 {
		fmt.Fprintf(&b, `,{"op":"copy","from":"/a","path":"/a/c%d"}`, i)
	}
	b.WriteString("]")
	_, err := ApplyPatchJSON([]byte(`{}`), Patch{Type: PatchJSON, Data: []byte(b.String())}, nil)
	st := apierrors.ToStatus(err)
	if st.GetCode() != http.StatusUnprocessableEntity || !strings.Contains(st.GetMessage(), "Unable to complete the copy, the accumulated size increase of copy is") {
		t.Fatalf("40 doubling copies: got %d %q, want 422 for the copy size", st.GetCode(), st.GetMessage())
	}
}
