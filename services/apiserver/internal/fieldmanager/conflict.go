package fieldmanager

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/merge"
)

// ConflictError lists the conflicting managers and fields of an apply
// without force. Error() is Kubernetes' message; each Conflict is one
// Status cause of reason FieldManagerConflict, answered with 409 Conflict.
type ConflictError struct{ Conflicts []Conflict }

// Conflict is one field another manager owns with another value: Manager
// is its name, Field the path (".spec.replicas"), Message the cause's
// message (`conflict with "mgr" using apps/v1`).
type Conflict struct{ Manager, Field, Message string }

// Error reads `Apply failed with 1 conflict: conflict with "m" using
// apps/v1: .spec.replicas`, or for several the fields grouped by manager,
// one line each.
func (e *ConflictError) Error() string {
	if len(e.Conflicts) == 1 {
		c := e.Conflicts[0]
		return fmt.Sprintf("Apply failed with 1 conflict: %s: %s", c.Message, c.Field)
	}
	var lines []string
	last := ""
	for i, c := range e.Conflicts {
		if i == 0 || c.Message != last {
			lines = append(lines, "conflicts"+strings.TrimPrefix(c.Message, "conflict")+":")
			last = c.Message
		}
		lines = append(lines, "- "+c.Field)
	}
	return fmt.Sprintf("Apply failed with %d conflicts: %s", len(e.Conflicts), strings.Join(lines, "\n"))
}

// newConflictError orders conflicts by manager identifier, as Kubernetes
// orders its message (its causes come in map order), keeping each
// manager's fields in path order.
func newConflictError(conflicts merge.Conflicts) *ConflictError {
	sorted := append(merge.Conflicts(nil), conflicts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Manager < sorted[j].Manager })
	e := &ConflictError{}
	for _, c := range sorted {
		name, described := describeManager(c.Manager)
		e.Conflicts = append(e.Conflicts, Conflict{
			Manager: name,
			Field:   c.Path.String(),
			Message: "conflict with " + described,
		})
	}
	return e
}

// describeManager reads a manager identifier: its name, and the name
// quoted with the subresource and, for an update, the apiVersion.
func describeManager(id string) (name, described string) {
	var e metav1.ManagedFieldsEntry
	if err := json.Unmarshal([]byte(id), &e); err != nil {
		return id, fmt.Sprintf("%q", id)
	}
	described = fmt.Sprintf("%q", e.Manager)
	if e.Subresource != "" {
		described += fmt.Sprintf(" with subresource %q", e.Subresource)
	}
	if e.Operation == metav1.ManagedFieldsOperationUpdate {
		described += " using " + e.APIVersion
	}
	return e.Manager, described
}
