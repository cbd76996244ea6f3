package api

import (
	"strings"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// TestServerSideApply: apply creates with an Apply entry, the same apply
// again changes nothing, another manager's different value conflicts
// with a 409 naming the manager and the field, force takes the field
// over, and an update by other means keeps and extends the entries.
func TestServerSideApply(t *testing.T) {
	a, ctx := newTestAPI(t)
	cms := a.Backend("", "configmaps")
	apply := func(manager, body string, force bool) (*corev1.ConfigMap, error) {
		out, err := cms.Patch(ctx, "default", "cfg", registry.Patch{Type: registry.PatchApply, Data: []byte(body)},
			registry.UpdateOptions{FieldManager: manager, Force: force})
		if err != nil {
			return nil, err
		}
		return out.(*corev1.ConfigMap), nil
	}
	const mine = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {colour: blue}\n"
	first, err := apply("alice", mine, false)
	if err != nil {
		t.Fatalf("apply creating the object: %v", err)
	}
	mf := first.GetMetadata().GetManagedFields()
	if len(mf) != 1 || mf[0].GetManager() != "alice" || mf[0].GetOperation() != "Apply" || mf[0].GetApiVersion() != "v1" {
		t.Fatalf("managedFields after the first apply: %v, want one Apply entry of alice", mf)
	}
	again, err := apply("alice", mine, false)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetMetadata().GetResourceVersion() != first.GetMetadata().GetResourceVersion() {
		t.Errorf("the same apply again wrote the object (resourceVersion %s → %s)",
			first.GetMetadata().GetResourceVersion(), again.GetMetadata().GetResourceVersion())
	}

	_, err = apply("bob", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {colour: red}\n", false)
	se, ok := err.(*apierrors.StatusError)
	if !ok || se.Status.GetCode() != 409 {
		t.Fatalf("a conflicting apply: got %v, want 409", err)
	}
	const want = `Apply failed with 1 conflict: conflict with "alice": .data.colour`
	if se.Status.GetMessage() != want {
		t.Errorf("conflict message: got %q, want %q", se.Status.GetMessage(), want)
	}
	causes := se.Status.GetDetails().GetCauses()
	if len(causes) != 1 || causes[0].GetReason() != "FieldManagerConflict" || causes[0].GetField() != ".data.colour" {
		t.Errorf("conflict causes: %v", causes)
	}

	forced, err := apply("bob", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {colour: red}\n", true)
	if err != nil {
		t.Fatalf("a forced apply: %v", err)
	}
	if forced.GetData()["colour"] != "red" {
		t.Errorf("after the forced apply: data %v", forced.GetData())
	}
	managers := map[string]string{}
	for _, e := range forced.GetMetadata().GetManagedFields() {
		managers[e.GetManager()] = string(e.GetFieldsV1().GetRaw())
	}
	if _, ok := managers["alice"]; ok {
		t.Errorf("alice still manages fields after bob forced the only one: %v", managers)
	}
	if managers["bob"] == "" {
		t.Errorf("bob manages nothing after forcing: %v", managers)
	}

	// An update by other means keeps the entries and adds its own.
	forced.Data["size"] = "large"
	updated, err := cms.Update(ctx, forced, registry.UpdateOptions{FieldManager: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	for _, e := range updated.(*corev1.ConfigMap).GetMetadata().GetManagedFields() {
		ops[e.GetManager()] = e.GetOperation()
	}
	if ops["bob"] != "Apply" || ops["carol"] != "Update" {
		t.Errorf("managers after carol's update: %v, want bob Apply and carol Update", ops)
	}
}

// TestApplyWithADuplicateKey: a key given twice in an apply body is
// refused under fieldValidation=Strict, naming the line, as Kubernetes
// does.
func TestApplyWithADuplicateKey(t *testing.T) {
	a, ctx := newTestAPI(t)
	cms := a.Backend("", "configmaps")
	body := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dup\ndata:\n  k: a\n  k: b\n"
	_, err := cms.Patch(ctx, "default", "dup", registry.Patch{Type: registry.PatchApply, Data: []byte(body)},
		registry.UpdateOptions{FieldManager: "m", FieldValidation: "Strict"})
	if apierrors.ReasonOf(err) != apierrors.ReasonBadRequest || !strings.Contains(err.Error(), `line 7: key "k" already set in map`) {
		t.Fatalf("a duplicate key under Strict: got %v, want 400 naming line 7", err)
	}
	if _, err := cms.Get(ctx, "default", "dup", registry.GetOptions{}); apierrors.ReasonOf(err) != apierrors.ReasonNotFound {
		t.Errorf("the refused apply stored the object: %v", err)
	}
}
