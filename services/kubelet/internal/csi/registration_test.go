package csi

import (
	"context"
	"strings"
	"testing"

	"skiff.dev/services/kubelet/internal/csi/csitest"
)

// A registration names a unix socket of the node, and cannot take over
// a name another socket holds.
func TestRegistrationRefusals(t *testing.T) {
	for _, ep := range []string{"dns:///csi.example.com:443", "csi.sock", "unix://csi.sock", "tcp://10.0.0.1:9000"} {
		d := &Drivers{Root: t.TempDir()}
		if err := d.ValidatePlugin(driver, ep, []string{"1.0.0"}); err == nil {
			t.Errorf("endpoint %q accepted", ep)
		}
		if err := d.RegisterPlugin(context.Background(), driver, ep, nil); err == nil {
			t.Errorf("endpoint %q registered", ep)
		}
	}
	f := &csitest.Node{}
	d, ni := registered(t, f)
	first, _ := d.Endpoint(driver)
	other := csitest.Start(t, &csitest.Node{})
	if err := d.ValidatePlugin(driver, "unix://"+other, []string{"1.0.0"}); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("ValidatePlugin of a taken name: %v", err)
	}
	if err := d.RegisterPlugin(context.Background(), driver, other, nil); err == nil {
		t.Error("RegisterPlugin took over a registered name")
	}
	d.DeRegisterPlugin(context.Background(), driver, other)
	if ep, ok := d.Endpoint(driver); !ok || ep != first || ni.Installed[driver] == nil {
		t.Fatalf("the refused driver's deregistration removed the first: %q %v", ep, ok)
	}
	// A second registration socket naming the same endpoint: the driver
	// stays until both are gone.
	if err := d.RegisterPlugin(context.Background(), driver, first, nil); err != nil {
		t.Fatal(err)
	}
	d.DeRegisterPlugin(context.Background(), driver, first)
	if _, ok := d.Endpoint(driver); !ok {
		t.Fatal("the driver went with one of its two registration sockets")
	}
	d.DeRegisterPlugin(context.Background(), driver, first)
	if _, ok := d.Endpoint(driver); ok || ni.Installed[driver] != nil {
		t.Error("the driver stays after its last registration socket")
	}
}
