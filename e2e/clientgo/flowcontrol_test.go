package clientgo

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// TestFlowSchemas: flowcontrol.apiserver.k8s.io/v1 FlowSchemas through
// client-go, in JSON and protobuf, as the conformance suite's "FlowSchema
// API operations" spec uses them: discovery with the status subresource,
// the API operations, status read, patched and updated, Kubernetes'
// defaults and validation.
func TestFlowSchemas(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		discovered(t, cs, "flowcontrol.apiserver.k8s.io/v1", "flowschemas", "flowschemas/status")
		fss := cs.FlowcontrolV1().FlowSchemas()
		fresh := func(name string) *flowcontrolv1.FlowSchema {
			return &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"e2e": "flowschemas"}},
				Spec: flowcontrolv1.FlowSchemaSpec{MatchingPrecedence: 10000,
					PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "global-default"},
					DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
					Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
						Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "example-e2e-non-existent-user"}}},
						NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{flowcontrolv1.VerbAll},
							NonResourceURLs: []string{flowcontrolv1.NonResourceAll}}},
					}}}}
		}
		lifecycle(ctx, t, fss, "e2e=flowschemas", "fs", fresh)

		plain := fresh("defaulted")
		plain.Spec.MatchingPrecedence = 0
		made, err := fss.Create(ctx, plain, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = fss.Delete(context.Background(), made.Name, metav1.DeleteOptions{}) }()
		if made.Spec.MatchingPrecedence != 1000 || made.Generation != 1 {
			t.Errorf("defaults: got matchingPrecedence %d, generation %d; want 1000, 1", made.Spec.MatchingPrecedence, made.Generation)
		}
		bad := fresh("bad")
		bad.Spec.MatchingPrecedence = 1
		if _, err := fss.Create(ctx, bad, metav1.CreateOptions{}); !hasCause(err, "spec.matchingPrecedence") {
			t.Errorf("precedence 1 on a schema not named exempt: got %v, want Invalid on spec.matchingPrecedence", err)
		}
		bad = fresh("bad")
		bad.Spec.Rules[0].Subjects[0].Kind = "Robot"
		if _, err := fss.Create(ctx, bad, metav1.CreateOptions{}); !hasCause(err, "spec.rules[0].subjects[0].kind") {
			t.Errorf("an unknown subject kind: got %v, want Invalid on spec.rules[0].subjects[0].kind", err)
		}

		conditions := func(fs *flowcontrolv1.FlowSchema) []string {
			var out []string
			for _, c := range fs.Status.Conditions {
				out = append(out, string(c.Type))
			}
			return out
		}
		statusOps(ctx, t, fss, cs.FlowcontrolV1().RESTClient(), "flowschemas", fresh("status"), conditions,
			func(fs *flowcontrolv1.FlowSchema, typ string) {
				fs.Status.Conditions = append(fs.Status.Conditions, flowcontrolv1.FlowSchemaCondition{Type: flowcontrolv1.FlowSchemaConditionType(typ),
					Status: flowcontrolv1.ConditionFalse, Reason: "E2E", Message: "Set from an e2e test"})
			}, fss.UpdateStatus)

		// A spec change bumps the generation; a label does not.
		relabelled, err := fss.Patch(ctx, made.Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		respec, err := fss.Patch(ctx, made.Name, types.MergePatchType, []byte(`{"spec":{"matchingPrecedence":9999}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if relabelled.Generation != 1 || respec.Generation != 2 || respec.Spec.MatchingPrecedence != 9999 {
			t.Errorf("generations: got %d after a label, %d (precedence %d) after a spec change; want 1, 2 (9999)",
				relabelled.Generation, respec.Generation, respec.Spec.MatchingPrecedence)
		}
	})
}

// TestPriorityLevelConfigurations: PriorityLevelConfigurations through
// client-go, as the conformance suite's "PriorityLevelConfiguration API
// operations" spec uses them.
func TestPriorityLevelConfigurations(t *testing.T) {
	clientsets(t, func(t *testing.T, cs *kubernetes.Clientset) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		discovered(t, cs, "flowcontrol.apiserver.k8s.io/v1", "prioritylevelconfigurations", "prioritylevelconfigurations/status")
		pls := cs.FlowcontrolV1().PriorityLevelConfigurations()
		fresh := func(name string) *flowcontrolv1.PriorityLevelConfiguration {
			return &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"e2e": "levels"}},
				Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
					Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To(int32(2)),
						LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}}}
		}
		lifecycle(ctx, t, pls, "e2e=levels", "pl", fresh)

		queued := fresh("defaulted")
		queued.Spec.Limited.NominalConcurrencyShares = nil
		queued.Spec.Limited.LimitResponse = flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}}
		made, err := pls.Create(ctx, queued, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = pls.Delete(context.Background(), made.Name, metav1.DeleteOptions{}) }()
		l := made.Spec.Limited
		if q := l.LimitResponse.Queuing; ptr.Deref(l.NominalConcurrencyShares, -1) != 30 || ptr.Deref(l.LendablePercent, -1) != 0 ||
			q.Queues != 64 || q.HandSize != 8 || q.QueueLengthLimit != 50 {
			t.Errorf("defaults: got %+v, queuing %+v; want 30 shares, 0%% lendable, 64 queues, hands of 8, 50 long", l, q)
		}
		bad := fresh("bad")
		bad.Spec.Limited.LendablePercent = ptr.To(int32(101))
		if _, err := pls.Create(ctx, bad, metav1.CreateOptions{}); !hasCause(err, "spec.limited.lendablePercent") {
			t.Errorf("lendablePercent 101: got %v, want Invalid on spec.limited.lendablePercent", err)
		}
		bad = fresh("bad")
		bad.Spec.Type = flowcontrolv1.PriorityLevelEnablementExempt
		if _, err := pls.Create(ctx, bad, metav1.CreateOptions{}); !hasCause(err, "spec.type") {
			t.Errorf("an Exempt level not named exempt: got %v, want Invalid on spec.type", err)
		}

		conditions := func(pl *flowcontrolv1.PriorityLevelConfiguration) []string {
			var out []string
			for _, c := range pl.Status.Conditions {
				out = append(out, string(c.Type))
			}
			return out
		}
		statusOps(ctx, t, pls, cs.FlowcontrolV1().RESTClient(), "prioritylevelconfigurations", fresh("status"), conditions,
			func(pl *flowcontrolv1.PriorityLevelConfiguration, typ string) {
				pl.Status.Conditions = append(pl.Status.Conditions, flowcontrolv1.PriorityLevelConfigurationCondition{
					Type: flowcontrolv1.PriorityLevelConfigurationConditionType(typ), Status: flowcontrolv1.ConditionFalse, Reason: "E2E"})
			}, pls.UpdateStatus)
	})
}

// discovered checks that groupVersion lists the resources (such as
// "flowschemas" and "flowschemas/status").
func discovered(t *testing.T, cs *kubernetes.Clientset, groupVersion string, resources ...string) {
	t.Helper()
	list, err := cs.Discovery().ServerResourcesForGroupVersion(groupVersion)
	if err != nil {
		t.Fatalf("discovery of %s: %v", groupVersion, err)
	}
	var names []string
	for _, r := range list.APIResources {
		names = append(names, r.Name)
	}
	for _, want := range resources {
		if !slices.Contains(names, want) {
			t.Errorf("%s resources: got %v, want %s", groupVersion, names, want)
		}
	}
}

// statusOps reads /status, patches a condition in through it, updates
// another in with UpdateStatus, and checks that a condition written
// through the main resource and an annotation written through status are
// ignored, as Kubernetes' flowcontrol strategies ignore them.
func statusOps[T, L runtime.Object](ctx context.Context, t *testing.T, c typedClient[T, L], rc rest.Interface, resource string, fresh T,
	conditions func(T) []string, add func(T, string), updateStatus func(context.Context, T, metav1.UpdateOptions) (T, error)) {
	t.Helper()
	made, err := c.Create(ctx, fresh, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	name := accessor(t, made).GetName()
	defer func() { _ = c.Delete(context.Background(), name, metav1.DeleteOptions{}) }()

	raw, err := rc.Get().Resource(resource).Name(name).SubResource("status").SetHeader("Accept", "application/json").DoRaw(ctx)
	if err != nil {
		t.Fatalf("get /status: %v", err)
	}
	var head struct {
		Kind       string
		APIVersion string `json:"apiVersion"`
		Metadata   struct{ UID string }
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.APIVersion != "flowcontrol.apiserver.k8s.io/v1" || head.Metadata.UID != string(accessor(t, made).GetUID()) {
		t.Errorf("get /status: got %s (%v), want the object", raw, err)
	}

	patched, err := c.Patch(ctx, name, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"viastatus":"true"}},"status":{"conditions":[{"type":"PatchStatusFailed","status":"False","reason":"e2e"}]}}`),
		metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patch /status: %v", err)
	}
	if !slices.Contains(conditions(patched), "PatchStatusFailed") {
		t.Errorf("patch /status: got conditions %v, want PatchStatusFailed", conditions(patched))
	}
	if _, ok := accessor(t, patched).GetAnnotations()["viastatus"]; ok {
		t.Errorf("an annotation patched through status was kept; Kubernetes keeps a flowcontrol object's metadata on status writes")
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		add(cur, "StatusUpdateFailed")
		updated, err := updateStatus(ctx, cur, metav1.UpdateOptions{})
		if err == nil && !slices.Contains(conditions(updated), "StatusUpdateFailed") {
			t.Errorf("UpdateStatus: got conditions %v, want StatusUpdateFailed", conditions(updated))
		}
		return err
	})
	if err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	cur, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	add(cur, "ThroughMain")
	if _, err := c.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	after, err := c.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := conditions(after); slices.Contains(got, "ThroughMain") || !slices.Contains(got, "StatusUpdateFailed") {
		t.Errorf("conditions after a main update: got %v, want PatchStatusFailed and StatusUpdateFailed only", got)
	}
}
