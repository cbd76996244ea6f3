package validation

import (
	"testing"

	"google.golang.org/protobuf/proto"

	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apf"
	"skiff.dev/services/apiserver/internal/defaults"
	"skiff.dev/services/apiserver/internal/field"
)

func TestValidateFlowSchema(t *testing.T) {
	valid := func() *flowcontrolv1.FlowSchema {
		fs := &flowcontrolv1.FlowSchema{Metadata: &metav1.ObjectMeta{Name: "mine"}, Spec: &flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: &flowcontrolv1.PriorityLevelConfigurationReference{Name: "global-default"},
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: "ByUser"},
			Rules: []*flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:         []*flowcontrolv1.Subject{{Kind: "User", User: &flowcontrolv1.UserSubject{Name: "alice"}}},
				ResourceRules:    []*flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get", "list"}, ApiGroups: []string{""}, Resources: []string{"pods"}, Namespaces: []string{"default"}}},
				NonResourceRules: []*flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceUrls: []string{"/healthz", "/apis/*"}}},
			}}}}
		defaults.FlowSchema(fs)
		return fs
	}
	if fs := valid(); fs.GetSpec().GetMatchingPrecedence() != 1000 {
		t.Errorf("default matchingPrecedence: got %d, want 1000", fs.GetSpec().GetMatchingPrecedence())
	}
	expect(t, ValidateFlowSchema(valid()))
	for _, fs := range apf.MandatoryFlowSchemas() {
		expect(t, ValidateFlowSchema(fs))
	}
	rule := func(fs *flowcontrolv1.FlowSchema) *flowcontrolv1.PolicyRulesWithSubjects { return fs.Spec.Rules[0] }
	tests := []struct {
		name   string
		change func(*flowcontrolv1.FlowSchema)
		want   want
	}{
		{"precedence too high", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 }, want{field.ErrorTypeInvalid, "spec.matchingPrecedence"}},
		{"precedence 1", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 1 }, want{field.ErrorTypeInvalid, "spec.matchingPrecedence"}},
		{"distinguisher", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.DistinguisherMethod.Type = "ByColour" },
			want{field.ErrorTypeNotSupported, "spec.distinguisherMethod.type"}},
		{"no level", func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "" },
			want{field.ErrorTypeRequired, "spec.priorityLevelConfiguration.name"}},
		{"no subjects", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects = nil }, want{field.ErrorTypeRequired, "spec.rules[0].subjects"}},
		{"subject kind", func(fs *flowcontrolv1.FlowSchema) { rule(fs).Subjects[0].Kind = "Robot" },
			want{field.ErrorTypeNotSupported, "spec.rules[0].subjects[0].kind"}},
		{"two members", func(fs *flowcontrolv1.FlowSchema) {
			rule(fs).Subjects[0].Group = &flowcontrolv1.GroupSubject{Name: "g"}
		},
			want{field.ErrorTypeForbidden, "spec.rules[0].subjects[0].group"}},
		{"no rules", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules, rule(fs).NonResourceRules = nil, nil },
			want{field.ErrorTypeRequired, "spec.rules[0]"}},
		{"verb", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Verbs = []string{"get", "fly"} },
			want{field.ErrorTypeNotSupported, "spec.rules[0].resourceRules[0].verbs"}},
		{"no namespace", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].Namespaces = nil },
			want{field.ErrorTypeRequired, "spec.rules[0].resourceRules[0].namespaces"}},
		{"wildcard and more", func(fs *flowcontrolv1.FlowSchema) { rule(fs).ResourceRules[0].ApiGroups = []string{"*", "apps"} },
			want{field.ErrorTypeInvalid, "spec.rules[0].resourceRules[0].apiGroups"}},
		{"URL", func(fs *flowcontrolv1.FlowSchema) { rule(fs).NonResourceRules[0].NonResourceUrls = []string{"/a/*/b"} },
			want{field.ErrorTypeInvalid, "spec.rules[0].nonResourceRules[0].nonResourceURLs[0]"}},
		{"condition twice", func(fs *flowcontrolv1.FlowSchema) {
			fs.Status = &flowcontrolv1.FlowSchemaStatus{Conditions: []*flowcontrolv1.FlowSchemaCondition{{Type: "Dangling"}, {Type: "Dangling"}}}
		}, want{field.ErrorTypeDuplicate, "status.conditions[1].type"}},
		{"a mandatory schema changed", func(fs *flowcontrolv1.FlowSchema) { fs.Metadata.Name = "catch-all" }, want{field.ErrorTypeInvalid, "spec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := valid()
			tt.change(fs)
			expect(t, ValidateFlowSchema(fs), tt.want)
		})
	}
}

func TestValidatePriorityLevelConfiguration(t *testing.T) {
	valid := func() *flowcontrolv1.PriorityLevelConfiguration {
		pl := &flowcontrolv1.PriorityLevelConfiguration{Metadata: &metav1.ObjectMeta{Name: "mine"}, Spec: &flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: "Limited", Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				LimitResponse: &flowcontrolv1.LimitResponse{Type: "Queue", Queuing: &flowcontrolv1.QueuingConfiguration{}}}}}
		defaults.PriorityLevelConfiguration(pl)
		return pl
	}
	l := valid().GetSpec().GetLimited()
	if q := l.GetLimitResponse().GetQueuing(); l.GetNominalConcurrencyShares() != 30 || l.GetLendablePercent() != 0 || l.LendablePercent == nil ||
		q.GetQueues() != 64 || q.GetHandSize() != 8 || q.GetQueueLengthLimit() != 50 {
		t.Errorf("defaults: got %v, want 30 shares, 0%% lendable, 64 queues, hands of 8, 50 long", l)
	}
	expect(t, ValidatePriorityLevelConfiguration(valid()))
	for _, pl := range apf.MandatoryPriorityLevels() {
		expect(t, ValidatePriorityLevelConfiguration(pl))
	}
	lim := func(pl *flowcontrolv1.PriorityLevelConfiguration) *flowcontrolv1.LimitedPriorityLevelConfiguration {
		return pl.Spec.Limited
	}
	tests := []struct {
		name   string
		change func(*flowcontrolv1.PriorityLevelConfiguration)
		want   want
	}{
		{"type", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Type = "Relaxed" }, want{field.ErrorTypeNotSupported, "spec.type"}},
		{"exempt by another name", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec = &flowcontrolv1.PriorityLevelConfigurationSpec{Type: "Exempt"}
		}, want{field.ErrorTypeInvalid, "spec.type"}},
		{"limited without settings", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited = nil },
			want{field.ErrorTypeRequired, "spec.limited"}},
		{"both", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Exempt = &flowcontrolv1.ExemptPriorityLevelConfiguration{}
		},
			want{field.ErrorTypeForbidden, "spec.exempt"}},
		{"negative shares", func(pl *flowcontrolv1.PriorityLevelConfiguration) { lim(pl).NominalConcurrencyShares = proto.Int32(-1) },
			want{field.ErrorTypeInvalid, "spec.limited.nominalConcurrencyShares"}},
		{"lendable over 100", func(pl *flowcontrolv1.PriorityLevelConfiguration) { lim(pl).LendablePercent = proto.Int32(101) },
			want{field.ErrorTypeInvalid, "spec.limited.lendablePercent"}},
		{"queue without queuing", func(pl *flowcontrolv1.PriorityLevelConfiguration) { lim(pl).LimitResponse.Queuing = nil },
			want{field.ErrorTypeRequired, "spec.limited.limitResponse.queuing"}},
		{"reject with queuing", func(pl *flowcontrolv1.PriorityLevelConfiguration) { lim(pl).LimitResponse.Type = "Reject" },
			want{field.ErrorTypeForbidden, "spec.limited.limitResponse.queuing"}},
		{"hand larger than deck", func(pl *flowcontrolv1.PriorityLevelConfiguration) { lim(pl).LimitResponse.Queuing.HandSize = 65 },
			want{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.handSize"}},
		{"too much entropy", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			lim(pl).LimitResponse.Queuing.Queues, lim(pl).LimitResponse.Queuing.HandSize = 1024, 7
		}, want{field.ErrorTypeInvalid, "spec.limited.limitResponse.queuing.handSize"}},
		{"a mandatory level changed", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Metadata.Name = "catch-all" },
			want{field.ErrorTypeInvalid, "spec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := valid()
			tt.change(pl)
			expect(t, ValidatePriorityLevelConfiguration(pl), tt.want)
		})
	}
	exempt, _ := apf.MandatoryPriorityLevel("exempt")
	exempt.Spec.Exempt.NominalConcurrencyShares = proto.Int32(10)
	expect(t, ValidatePriorityLevelConfiguration(exempt)) // its exempt settings may change
}
