package app

import "testing"

func TestEnabledControllers(t *testing.T) {
	for _, c := range []struct {
		flags []string
		name  string
		want  bool
	}{
		{[]string{"*"}, "replicaset", true},
		{[]string{"*", "-replicaset"}, "replicaset", false},
		{[]string{"-replicaset", "*"}, "replicaset", false},
		{[]string{"serviceaccount"}, "replicaset", false},
		{[]string{"serviceaccount"}, "serviceaccount", true},
	} {
		o := NewOptions()
		o.Controllers = c.flags
		if got := o.Enabled(c.name); got != c.want {
			t.Errorf("--controllers=%v, %s: got %v, want %v", c.flags, c.name, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	o := NewOptions()
	o.Kubeconfig = "k"
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.Controllers = []string{"*", "-nope"}
	if err := o.Validate(); err == nil {
		t.Fatal("an unknown controller was accepted")
	}
	o = NewOptions()
	if err := o.Validate(); err == nil {
		t.Fatal("no kubeconfig was accepted")
	}
}
