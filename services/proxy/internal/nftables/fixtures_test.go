package nftables

import "time"

var testOptions = Options{
	NodeName:       "node-a",
	NodeIPs:        []string{"192.168.50.2"},
	ClusterCIDR:    "10.244.0.0/16",
	MasqueradeMark: 0x4000,
}

func web() ServicePort {
	return ServicePort{
		ServicePortName: ServicePortName{Namespace: "default", Name: "web", PortName: "http", Protocol: TCP},
		ClusterIP:       "10.96.0.10",
		Port:            80,
	}
}

// fixtures are the cases the unit tests check and the netns test loads.
var fixtures = map[string]struct {
	services  []ServicePort
	endpoints map[ServicePortName][]Endpoint
}{
	"two endpoints": {
		services: []ServicePort{web()},
		endpoints: map[ServicePortName][]Endpoint{web().ServicePortName: {
			{IP: "10.244.2.7", Port: 8080, Ready: true, Serving: true, NodeName: "node-b"},
			{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true, NodeName: "node-a"},
		}},
	},
	"no endpoints": {
		services: []ServicePort{web()},
	},
	"terminating fallback": {
		services: []ServicePort{web()},
		endpoints: map[ServicePortName][]Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Serving: true, Terminating: true},
			{IP: "10.244.2.7", Port: 8080, Terminating: true},
		}},
	},
	"affinity": {
		services: []ServicePort{func() ServicePort {
			sp := web()
			sp.SessionAffinityTimeout = 3 * time.Hour
			return sp
		}()},
		endpoints: map[ServicePortName][]Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true},
			{IP: "10.244.2.7", Port: 8080, Ready: true, Serving: true},
		}},
	},
	"nodeport local": {
		services: []ServicePort{func() ServicePort {
			sp := web()
			sp.NodePort = 30080
			sp.LoadBalancerIPs = []string{"203.0.113.9"}
			sp.ExternalTrafficPolicyLocal = true
			return sp
		}()},
		endpoints: map[ServicePortName][]Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true, NodeName: "node-a"},
			{IP: "10.244.2.7", Port: 8080, Ready: true, Serving: true, NodeName: "node-b"},
		}},
	},
}
