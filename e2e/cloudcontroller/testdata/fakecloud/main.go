// Command fakecloud is a cloud provider plugin for the e2e tests whose
// cloud is a directory: its --cloud-config is the directory's path. A
// node's instance is gone when <dir>/<node>.gone exists and shut down when
// <dir>/<node>.shutdown exists; routes are kept in <dir>/routes.json, so
// tests read what the cloud-controller made. It has no load balancers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"skiff.dev/pkg/atomicfile"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/cloudprovider"
)

type fake struct {
	mu  sync.Mutex
	dir string
}

func (f *fake) Initialize(_ context.Context, config []byte, _ string) error {
	dir := strings.TrimSpace(string(config))
	if dir == "" {
		return errors.New("fakecloud: the cloud config must be the path of a directory")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dir = dir
	return nil
}

func (f *fake) exists(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := os.Stat(filepath.Join(f.dir, name))
	return err == nil
}

func (f *fake) InstanceExists(_ context.Context, n *corev1.Node) (bool, error) {
	return !f.exists(n.GetMetadata().GetName() + ".gone"), nil
}

func (f *fake) InstanceShutdown(_ context.Context, n *corev1.Node) (bool, error) {
	return f.exists(n.GetMetadata().GetName() + ".shutdown"), nil
}

func (f *fake) InstanceMetadata(_ context.Context, n *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	name := n.GetMetadata().GetName()
	return &cloudprovider.InstanceMetadata{ProviderID: "fake://" + name, InstanceType: "fake.large",
		Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "192.0.2.10"}, {Type: "Hostname", Address: name}},
		Zone:      "fake-zone-a", Region: "fake-region"}, nil
}

func (f *fake) HasZones() bool { return true }

func (f *fake) load() ([]cloudprovider.Route, error) {
	data, err := os.ReadFile(filepath.Join(f.dir, "routes.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var routes []cloudprovider.Route
	return routes, json.Unmarshal(data, &routes)
}

func (f *fake) save(routes []cloudprovider.Route) error {
	data, err := json.Marshal(routes)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(f.dir, "routes.json"), data, 0o644)
}

func (f *fake) ListRoutes(context.Context, string) ([]cloudprovider.Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.load()
}

func (f *fake) CreateRoute(_ context.Context, _, hint string, r cloudprovider.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	routes, err := f.load()
	if err != nil {
		return err
	}
	r.Name = hint + "-" + r.DestinationCIDR
	return f.save(append(routes, r))
}

func (f *fake) DeleteRoute(_ context.Context, _ string, r cloudprovider.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	routes, err := f.load()
	if err != nil {
		return err
	}
	return f.save(slices.DeleteFunc(routes, func(x cloudprovider.Route) bool { return x.Name == r.Name }))
}

func main() { cloudprovider.Serve("fake", &fake{}) }
