// Package crdnames decides, as Kubernetes' apiextensions controllers do,
// which names a CustomResourceDefinition may serve and when it is
// established, and keeps its status conditions. Its functions are pure:
// they read the definitions they are given and return what to write,
// with the time to stamp conditions with passed in.
//
// A definition's names are accepted one by one: a requested name that
// another definition of the group (or a built-in resource of the group)
// already holds is refused, and the name accepted before stays. Plurals,
// singulars and short names share one space, kinds and list kinds
// another. Once every name is accepted the definition may be
// established, and it stays established while later name changes are
// refused.
package crdnames

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
)

// Names are the names a built-in resource holds in its group.
type Names struct {
	Group, Plural, Singular, Kind, ListKind string
	ShortNames                              []string
}

// Decision is what the naming controller writes for one definition.
type Decision struct {
	AcceptedNames *apiextensionsv1.CustomResourceDefinitionNames
	NamesAccepted *apiextensionsv1.CustomResourceDefinitionCondition
	Established   *apiextensionsv1.CustomResourceDefinitionCondition
}

// Accept decides crd's accepted names and its NamesAccepted and
// Established conditions. all are the definitions the cluster holds
// (crd itself may be among them), builtin the built-in resources. Each
// name is checked against the accepted names of all in crd's group and
// the names of builtin in that group, crd's own accepted names included;
// a name equal to the one crd already has is always kept. Kubernetes does
// not check built-in resources (theirs shadow a definition's); pass nil
// for its behaviour.
func Accept(crd *apiextensionsv1.CustomResourceDefinition, all []*apiextensionsv1.CustomResourceDefinition, builtin []Names) Decision {
	resources, kinds := namesInUse(crd, all, builtin)
	want := crd.GetSpec().GetNames()
	had := crd.GetStatus().GetAcceptedNames()
	got := &apiextensionsv1.CustomResourceDefinitionNames{}
	if had != nil {
		got = proto.Clone(had).(*apiextensionsv1.CustomResourceDefinitionNames)
	}
	names := condition(NamesAccepted, Unknown, "", "")
	refuse := func(reason string, err error) {
		names.Status, names.Reason, names.Message = False, reason, err.Error()
	}
	accept := func(requested, accepted string, used map[string]bool, set *string, reason string) {
		if err := freshOrKept(requested, accepted, used); err != nil {
			refuse(reason, err)
			return
		}
		*set = requested
	}
	accept(want.GetPlural(), had.GetPlural(), resources, &got.Plural, "PluralConflict")
	accept(want.GetSingular(), had.GetSingular(), resources, &got.Singular, "SingularConflict")
	if !slices.Equal(want.GetShortNames(), had.GetShortNames()) {
		if err := shortNamesConflict(want.GetShortNames(), had.GetShortNames(), resources); err != nil {
			refuse("ShortNamesConflict", err)
		} else {
			got.ShortNames = want.GetShortNames()
		}
	}
	accept(want.GetKind(), had.GetKind(), kinds, &got.Kind, "KindConflict")
	accept(want.GetListKind(), had.GetListKind(), kinds, &got.ListKind, "ListKindConflict")
	got.Categories = want.GetCategories()
	if names.Status == Unknown {
		names.Status, names.Reason, names.Message = True, "NoConflicts", "no conflicts found"
	}
	return Decision{AcceptedNames: got, NamesAccepted: names, Established: establishedAfterNaming(crd, names)}
}

// Sync is one pass of Kubernetes' naming controller over crd: nil when
// there is nothing to write (the spec's names are all accepted, or the
// decision is what the status says already), else a copy of crd with the
// decision written into its status at now. After writing it, the caller
// looks at the other definitions of the group again, as a name may have
// been given up; so it does when a definition is deleted.
func Sync(crd *apiextensionsv1.CustomResourceDefinition, all []*apiextensionsv1.CustomResourceDefinition, builtin []Names, now time.Time) *apiextensionsv1.CustomResourceDefinition {
	if namesEqual(crd.GetSpec().GetNames(), crd.GetStatus().GetAcceptedNames()) {
		return nil
	}
	d := Accept(crd, all, builtin)
	if namesEqual(crd.GetStatus().GetAcceptedNames(), d.AcceptedNames) &&
		Equivalent(d.NamesAccepted, FindCondition(crd, NamesAccepted)) {
		return nil
	}
	out := proto.Clone(crd).(*apiextensionsv1.CustomResourceDefinition)
	if out.Status == nil {
		out.Status = &apiextensionsv1.CustomResourceDefinitionStatus{}
	}
	out.Status.AcceptedNames = d.AcceptedNames
	SetCondition(out, d.NamesAccepted, now)
	SetCondition(out, d.Established, now)
	return out
}

// namesInUse are the resource names (plurals, singulars, short names) and
// the kinds (kinds, list kinds) held in crd's group; empty names count,
// as in Kubernetes.
func namesInUse(crd *apiextensionsv1.CustomResourceDefinition, all []*apiextensionsv1.CustomResourceDefinition, builtin []Names) (resources, kinds map[string]bool) {
	group := crd.GetSpec().GetGroup()
	resources, kinds = map[string]bool{}, map[string]bool{}
	add := func(n Names) {
		resources[n.Plural], resources[n.Singular] = true, true
		for _, s := range n.ShortNames {
			resources[s] = true
		}
		kinds[n.Kind], kinds[n.ListKind] = true, true
	}
	for _, other := range append([]*apiextensionsv1.CustomResourceDefinition{crd}, all...) {
		if other.GetSpec().GetGroup() != group || other != crd && other.GetMetadata().GetName() == crd.GetMetadata().GetName() {
			continue
		}
		a := other.GetStatus().GetAcceptedNames()
		add(Names{Plural: a.GetPlural(), Singular: a.GetSingular(), ShortNames: a.GetShortNames(), Kind: a.GetKind(), ListKind: a.GetListKind()})
	}
	for _, b := range builtin {
		if b.Group == group {
			add(b)
		}
	}
	return resources, kinds
}

// freshOrKept refuses a requested name that is not the accepted one and
// is in use.
func freshOrKept(requested, accepted string, used map[string]bool) error {
	if requested == accepted || !used[requested] {
		return nil
	}
	return fmt.Errorf("%q is already in use", requested)
}

// shortNamesConflict refuses the requested short names, beyond the ones
// already accepted, that are in use; distinct messages are joined as
// Kubernetes' aggregate error joins them.
func shortNamesConflict(requested, accepted []string, used map[string]bool) error {
	var msgs []string
	for _, s := range requested {
		if slices.Contains(accepted, s) {
			continue
		}
		if err := freshOrKept(s, "", used); err != nil && !slices.Contains(msgs, err.Error()) {
			msgs = append(msgs, err.Error())
		}
	}
	switch len(msgs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%s", msgs[0])
	}
	return fmt.Errorf("[%s]", strings.Join(msgs, ", "))
}

// establishedAfterNaming is the Established condition the naming
// controller writes: the old one, or not established until the names are
// accepted, then still False ("Installing") for the establishing step.
func establishedAfterNaming(crd *apiextensionsv1.CustomResourceDefinition, names *apiextensionsv1.CustomResourceDefinitionCondition) *apiextensionsv1.CustomResourceDefinitionCondition {
	est := condition(Established, False, "NotAccepted", "not all names are accepted")
	if old := FindCondition(crd, Established); old != nil {
		est = proto.Clone(old).(*apiextensionsv1.CustomResourceDefinitionCondition)
	}
	if est.GetStatus() != True && names.GetStatus() == True {
		est = condition(Established, False, "Installing", "the initial names have been accepted")
	}
	return est
}

// namesEqual compares names, nil being no names.
func namesEqual(a, b *apiextensionsv1.CustomResourceDefinitionNames) bool {
	if a == nil {
		a = &apiextensionsv1.CustomResourceDefinitionNames{}
	}
	if b == nil {
		b = &apiextensionsv1.CustomResourceDefinitionNames{}
	}
	return proto.Equal(a, b)
}
