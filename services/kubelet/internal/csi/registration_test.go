package csi

import (
	"errors"
	"slices"

	"context"
	csipb "github.com/container-storage-interface/spec/lib/go/csi"
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

// hookNodeInfo runs install in InstallDriver.
type hookNodeInfo struct {
	install func() error
}

func (h hookNodeInfo) InstallDriver(context.Context, string, *csipb.NodeGetInfoResponse) error {
	return h.install()
}

func (h hookNodeInfo) UninstallDriver(context.Context, string) error { return nil }

// The driver is usable only once the node publishes it: pods are not
// sent to a driver whose NodeGetInfo or node update failed.
func TestEndpointAfterInstall(t *testing.T) {
	sock := csitest.Start(t, &csitest.Node{})
	d := &Drivers{Root: t.TempDir()}
	var seen []bool
	fail := true
	d.NodeInfo = hookNodeInfo{install: func() error {
		_, ok := d.Endpoint(driver)
		seen = append(seen, ok)
		if fail {
			return errors.New("apiserver down")
		}
		return nil
	}}
	if err := d.RegisterPlugin(context.Background(), driver, sock, nil); err == nil {
		t.Fatal("registration succeeded though the node update failed")
	}
	if _, ok := d.Endpoint(driver); ok {
		t.Error("a driver whose registration failed is usable")
	}
	fail = false
	if err := d.RegisterPlugin(context.Background(), driver, sock, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Endpoint(driver); !ok {
		t.Error("the registered driver is not usable")
	}
	if !slices.Equal(seen, []bool{false, false}) {
		t.Errorf("endpoint visible during registration: %v", seen)
	}
}
