package crdnames

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	metav1 "skiff.dev/api/meta/v1"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type crdNames = apiextensionsv1.CustomResourceDefinitionNames

func names(plural, singular, kind string, short ...string) *crdNames {
	return &crdNames{Plural: plural, Singular: singular, Kind: kind, ListKind: kind + "List", ShortNames: short}
}

// def is a definition of group example.com requesting want, with the
// accepted names had; it is named after the plural it was created with.
func def(want, had *crdNames, conds ...*apiextensionsv1.CustomResourceDefinitionCondition) *apiextensionsv1.CustomResourceDefinition {
	name := want.GetPlural()
	if had != nil {
		name = had.GetPlural()
	}
	return &apiextensionsv1.CustomResourceDefinition{
		Metadata: &metav1.ObjectMeta{Name: name + ".example.com"},
		Spec:     &apiextensionsv1.CustomResourceDefinitionSpec{Group: "example.com", Names: want},
		Status:   &apiextensionsv1.CustomResourceDefinitionStatus{AcceptedNames: had, Conditions: conds},
	}
}

// other is an accepted definition of group holding n.
func other(group string, n *crdNames) *apiextensionsv1.CustomResourceDefinition {
	d := def(n, n)
	d.Metadata.Name = n.Plural + "." + group
	d.Spec.Group = group
	return d
}

func TestAccept(t *testing.T) {
	foo := names("foos", "foo", "Foo", "fo")
	ok := condition(NamesAccepted, True, "NoConflicts", "no conflicts found")
	installing := condition(Established, False, "Installing", "the initial names have been accepted")
	notAccepted := condition(Established, False, "NotAccepted", "not all names are accepted")
	established := condition(Established, True, "InitialNamesAccepted", "the initial names have been accepted")
	conflict := func(reason, msg string) *apiextensionsv1.CustomResourceDefinitionCondition {
		return condition(NamesAccepted, False, reason, msg)
	}
	tests := []struct {
		name    string
		crd     *apiextensionsv1.CustomResourceDefinition
		all     []*apiextensionsv1.CustomResourceDefinition
		builtin []Names
		want    Decision
	}{
		{"fresh names", def(foo, nil), nil, nil, Decision{foo, ok, installing}},
		{"plural held by another", def(foo, nil), []*apiextensionsv1.CustomResourceDefinition{other("example.com", names("bars", "foos", "Bar"))}, nil,
			Decision{&crdNames{Singular: "foo", Kind: "Foo", ListKind: "FooList", ShortNames: []string{"fo"}},
				conflict("PluralConflict", `"foos" is already in use`), notAccepted}},
		{"singular held as a short name", def(foo, nil), []*apiextensionsv1.CustomResourceDefinition{other("example.com", names("bars", "bar", "Bar", "foo"))}, nil,
			Decision{&crdNames{Plural: "foos", Kind: "Foo", ListKind: "FooList", ShortNames: []string{"fo"}},
				conflict("SingularConflict", `"foo" is already in use`), notAccepted}},
		{"short names held", def(names("foos", "foo", "Foo", "a", "b", "a"), nil),
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", names("bars", "bar", "Bar", "a", "b"))}, nil,
			Decision{&crdNames{Plural: "foos", Singular: "foo", Kind: "Foo", ListKind: "FooList"},
				conflict("ShortNamesConflict", `["a" is already in use, "b" is already in use]`), notAccepted}},
		{"kind and list kind held, the last reason wins", def(foo, nil), []*apiextensionsv1.CustomResourceDefinition{other("example.com", names("bars", "bar", "Foo"))}, nil,
			Decision{&crdNames{Plural: "foos", Singular: "foo", ShortNames: []string{"fo"}},
				conflict("ListKindConflict", `"FooList" is already in use`), notAccepted}},
		{"another group", def(foo, nil), []*apiextensionsv1.CustomResourceDefinition{other("example.org", foo)}, nil, Decision{foo, ok, installing}},
		{"an accepted name is kept though another holds it", def(foo, foo, established),
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", names("bars", "bar", "Foo"))}, nil, Decision{foo, ok, established}},
		{"a renamed plural keeps the old one and stays established", def(names("quxes", "foo", "Foo", "fo"), foo, established),
			[]*apiextensionsv1.CustomResourceDefinition{other("example.com", names("quxes", "qux", "Qux"))}, nil,
			Decision{foo, conflict("PluralConflict", `"quxes" is already in use`), established}},
		{"its own accepted names count", def(names("foo", "foos", "Foo", "fo"), foo), nil, nil,
			Decision{foo, conflict("SingularConflict", `"foos" is already in use`), notAccepted}},
		{"a stale copy of itself is ignored", def(foo, nil), []*apiextensionsv1.CustomResourceDefinition{def(foo, foo)}, nil, Decision{foo, ok, installing}},
		{"a built-in resource of the group", def(foo, nil), nil,
			[]Names{{Group: "example.com", Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList", ShortNames: []string{"fo"}}},
			Decision{&crdNames{Plural: "foos", Singular: "foo", Kind: "Foo", ListKind: "FooList"},
				conflict("ShortNamesConflict", `"fo" is already in use`), notAccepted}},
		{"a built-in resource of another group", def(foo, nil), nil, []Names{{Group: "apps", Plural: "foos"}}, Decision{foo, ok, installing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Accept(tt.crd, tt.all, tt.builtin)
			if !proto.Equal(got.AcceptedNames, tt.want.AcceptedNames) {
				t.Errorf("accepted names: got %v, want %v", got.AcceptedNames, tt.want.AcceptedNames)
			}
			if !Equivalent(got.NamesAccepted, tt.want.NamesAccepted) {
				t.Errorf("NamesAccepted: got %v, want %v", got.NamesAccepted, tt.want.NamesAccepted)
			}
			if !Equivalent(got.Established, tt.want.Established) {
				t.Errorf("Established: got %v, want %v", got.Established, tt.want.Established)
			}
		})
	}
}

func TestAcceptCopiesCategories(t *testing.T) {
	want := names("foos", "foo", "Foo")
	want.Categories = []string{"all"}
	got := Accept(def(want, names("foos", "foo", "Foo")), nil, nil)
	if c := got.AcceptedNames.GetCategories(); len(c) != 1 || c[0] != "all" {
		t.Errorf("got categories %v, want [all]", c)
	}
}

func TestSync(t *testing.T) {
	foo := names("foos", "foo", "Foo")
	earlier := timestamppb.New(now.Add(-time.Hour))
	accepted := condition(NamesAccepted, True, "NoConflicts", "no conflicts found")
	accepted.LastTransitionTime = earlier
	held := []*apiextensionsv1.CustomResourceDefinition{other("example.com", names("bars", "bar", "Foo"))}
	refused := condition(NamesAccepted, False, "ListKindConflict", `"FooList" is already in use`)
	tests := []struct {
		name      string
		crd       *apiextensionsv1.CustomResourceDefinition
		all       []*apiextensionsv1.CustomResourceDefinition
		wantWrite bool
	}{
		{"all names accepted", def(foo, foo, accepted), held, false},
		{"new names", def(foo, nil), nil, true},
		{"the status says the decision already", def(foo, &crdNames{Plural: "foos", Singular: "foo"}, refused), held, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Sync(tt.crd, tt.all, nil, now)
			if (got != nil) != tt.wantWrite {
				t.Fatalf("got write %v, want %v", got != nil, tt.wantWrite)
			}
		})
	}
	got := Sync(def(foo, nil), nil, nil, now)
	if !proto.Equal(got.Status.AcceptedNames, foo) {
		t.Errorf("got accepted names %v, want %v", got.Status.AcceptedNames, foo)
	}
	for _, typ := range []string{NamesAccepted, Established} {
		if c := FindCondition(got, typ); !c.GetLastTransitionTime().AsTime().Equal(now) {
			t.Errorf("%s: got transition time %v, want %v", typ, c.GetLastTransitionTime(), now)
		}
	}
}
