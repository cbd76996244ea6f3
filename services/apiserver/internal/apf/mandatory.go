// Package apf holds the API priority and fairness objects every
// apiserver keeps, as kube-apiserver does: the mandatory "exempt" and
// "catch-all" FlowSchemas and PriorityLevelConfigurations, whose specs are
// fixed, created at start when missing and put back to their fixed specs
// while they carry apf.kubernetes.io/autoupdate-spec=true. Skiff stores
// these objects but classifies no requests by them.
package apf

import (
	"google.golang.org/protobuf/proto"

	flowcontrolv1 "skiff.dev/api/flowcontrol/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// AutoUpdateAnnotation marks an object whose spec the apiserver keeps at
// its fixed value.
const AutoUpdateAnnotation = "apf.kubernetes.io/autoupdate-spec"

// everything matches every request: every verb of every resource in every
// namespace and cluster-wide, and every non-resource URL.
func everything(subjects ...string) []*flowcontrolv1.PolicyRulesWithSubjects {
	var ss []*flowcontrolv1.Subject
	for _, g := range subjects {
		ss = append(ss, &flowcontrolv1.Subject{Kind: "Group", Group: &flowcontrolv1.GroupSubject{Name: g}})
	}
	return []*flowcontrolv1.PolicyRulesWithSubjects{{
		Subjects: ss,
		ResourceRules: []*flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, ApiGroups: []string{"*"}, Resources: []string{"*"},
			Namespaces: []string{"*"}, ClusterScope: true}},
		NonResourceRules: []*flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceUrls: []string{"*"}}},
	}}
}

func meta(name string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: name, Annotations: map[string]string{AutoUpdateAnnotation: "true"}}
}

// MandatoryFlowSchemas returns new copies of the mandatory FlowSchemas:
// exempt (system:masters, precedence 1, to the exempt level) and
// catch-all (everyone, precedence 10000, by user, to the catch-all level).
func MandatoryFlowSchemas() []*flowcontrolv1.FlowSchema {
	return []*flowcontrolv1.FlowSchema{
		{Metadata: meta("exempt"), Spec: &flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: &flowcontrolv1.PriorityLevelConfigurationReference{Name: "exempt"},
			MatchingPrecedence:         1,
			Rules:                      everything("system:masters"),
		}},
		{Metadata: meta("catch-all"), Spec: &flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: &flowcontrolv1.PriorityLevelConfigurationReference{Name: "catch-all"},
			MatchingPrecedence:         10000,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: "ByUser"},
			Rules:                      everything("system:unauthenticated", "system:authenticated"),
		}},
	}
}

// MandatoryPriorityLevels returns new copies of the mandatory priority
// levels: exempt, and catch-all (5 shares, rejecting what it cannot run).
func MandatoryPriorityLevels() []*flowcontrolv1.PriorityLevelConfiguration {
	return []*flowcontrolv1.PriorityLevelConfiguration{
		{Metadata: meta("exempt"), Spec: &flowcontrolv1.PriorityLevelConfigurationSpec{Type: "Exempt",
			Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{NominalConcurrencyShares: proto.Int32(0), LendablePercent: proto.Int32(0)}}},
		{Metadata: meta("catch-all"), Spec: &flowcontrolv1.PriorityLevelConfigurationSpec{Type: "Limited",
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: proto.Int32(5), LendablePercent: proto.Int32(0),
				LimitResponse: &flowcontrolv1.LimitResponse{Type: "Reject"}}}},
	}
}

// MandatoryFlowSchema returns the mandatory FlowSchema of that name.
func MandatoryFlowSchema(name string) (*flowcontrolv1.FlowSchema, bool) {
	for _, fs := range MandatoryFlowSchemas() {
		if fs.GetMetadata().GetName() == name {
			return fs, true
		}
	}
	return nil, false
}

// MandatoryPriorityLevel returns the mandatory priority level of that
// name.
func MandatoryPriorityLevel(name string) (*flowcontrolv1.PriorityLevelConfiguration, bool) {
	for _, pl := range MandatoryPriorityLevels() {
		if pl.GetMetadata().GetName() == name {
			return pl, true
		}
	}
	return nil, false
}
