package validation

import (
	"strings"
	"testing"

	discoveryv1 "skiff.dev/api/discovery/v1"
)

func TestValidateEndpointSlice(t *testing.T) {
	port := func(name string, n int32) *discoveryv1.EndpointPort {
		tcp := "TCP"
		return &discoveryv1.EndpointPort{Name: &name, Port: &n, Protocol: &tcp}
	}
	ok := &discoveryv1.EndpointSlice{AddressType: "IPv4",
		Endpoints: []*discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}}, Ports: []*discoveryv1.EndpointPort{port("http", 80)}}
	if errs := ValidateEndpointSlice(ok); len(errs) != 0 {
		t.Fatalf("valid slice: %v", errs)
	}
	for name, c := range map[string]struct {
		slice *discoveryv1.EndpointSlice
		field string
	}{
		"address type":  {&discoveryv1.EndpointSlice{AddressType: "IPX"}, "addressType"},
		"no address":    {&discoveryv1.EndpointSlice{AddressType: "IPv4", Endpoints: []*discoveryv1.Endpoint{{}}}, "endpoints[0].addresses"},
		"ipv6 in ipv4":  {&discoveryv1.EndpointSlice{AddressType: "IPv4", Endpoints: []*discoveryv1.Endpoint{{Addresses: []string{"fd00::1"}}}}, "endpoints[0].addresses[0]"},
		"bad port":      {&discoveryv1.EndpointSlice{AddressType: "IPv4", Ports: []*discoveryv1.EndpointPort{port("http", 70000)}}, "ports[0].port"},
		"duplicate":     {&discoveryv1.EndpointSlice{AddressType: "IPv4", Ports: []*discoveryv1.EndpointPort{port("a", 1), port("a", 2)}}, "ports[1].name"},
		"bad port name": {&discoveryv1.EndpointSlice{AddressType: "IPv4", Ports: []*discoveryv1.EndpointPort{port("Not_OK", 1)}}, "ports[0].name"},
	} {
		errs := ValidateEndpointSlice(c.slice)
		found := false
		for _, e := range errs {
			found = found || strings.Contains(e.Field, c.field)
		}
		if !found {
			t.Errorf("%s: errors %v, want one on %s", name, errs, c.field)
		}
	}
	changed := &discoveryv1.EndpointSlice{AddressType: "IPv6"}
	if errs := ValidateEndpointSliceUpdate(changed, ok); len(errs) != 1 || errs[0].Field != "addressType" {
		t.Fatalf("changing the address type: %v", errs)
	}
}
