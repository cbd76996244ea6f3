// Package fieldmanager is server-side apply and managed-fields tracking
// with Kubernetes' semantics, on structured-merge-diff. It works on whole
// objects as unstructured JSON (map[string]any with int64 integers) and
// knows one resource's kind in one served version.
//
// What it keeps true, as Kubernetes does:
//   - metadata.managedFields holds one "Apply" entry per applier and
//     subresource and one "Update" entry per writer, apiVersion and
//     subresource, sorted by operation, time, manager, apiVersion and
//     subresource. No entry owns apiVersion, kind or the identifying
//     metadata (name, namespace, uid, resourceVersion, generation,
//     creationTimestamp, selfLink, managedFields).
//   - An entry's time is the time of the last write that changed what the
//     object holds, truncated to seconds. An apply that changes nothing
//     returns the live object unchanged, times included.
//   - At most ten Update entries are kept; older ones are merged, per
//     apiVersion, into an "ancient-changes" entry.
//   - Fields a write through a subresource does not own (the reset fields)
//     never enter that write's entry.
//   - An object that no manager has tracked stays untracked through
//     updates; the first apply attributes its fields to
//     "before-first-apply".
//   - Entries recorded at another apiVersion than the served one are
//     dropped on the next write: this package converts no versions.
//
// What stays with the caller: defaulting the result of Apply, the
// strategy's resets (status through the main resource and the other way
// round), keeping live's entry times when a write changes nothing else
// (IgnoreTimestampOnlyChanges for objects held as maps), and turning
// *ConflictError (409) and *BadRequestError (400) into a Status; any
// other error of Apply is an internal error, as in Kubernetes.
package fieldmanager
