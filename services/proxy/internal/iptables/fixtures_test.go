package iptables

import (
	"time"

	"skiff.dev/services/proxy/internal/model"
)

var testOptions = model.Options{
	NodeName:       "node-a",
	NodeIPs:        []string{"192.168.50.2"},
	ClusterCIDR:    "10.244.0.0/16",
	MasqueradeMark: 0x4000,
}

func web() model.ServicePort {
	return model.ServicePort{
		ServicePortName: model.ServicePortName{Namespace: "default", Name: "web", PortName: "http", Protocol: model.TCP},
		ClusterIP:       "10.96.0.10",
		Port:            80,
	}
}

func ep(ip string, ready bool, node string) model.Endpoint {
	return model.Endpoint{IP: ip, Port: 8080, Ready: ready, Serving: ready, NodeName: node}
}

// fixtures are the nftables package's cases: the unit tests check their
// rules and the netns tests load them.
var fixtures = map[string]model.State{
	"two endpoints": {
		Services: []model.ServicePort{web()},
		Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			ep("10.244.2.7", true, "node-b"),
			ep("10.244.1.5", true, "node-a"),
		}},
	},
	"no endpoints": {
		Services: []model.ServicePort{web()},
	},
	"terminating fallback": {
		Services: []model.ServicePort{web()},
		Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Serving: true, Terminating: true},
			{IP: "10.244.2.7", Port: 8080, Terminating: true},
		}},
	},
	"affinity": {
		Services: []model.ServicePort{func() model.ServicePort {
			sp := web()
			sp.SessionAffinityTimeout = 3 * time.Hour
			return sp
		}()},
		Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			ep("10.244.1.5", true, ""),
			ep("10.244.2.7", true, ""),
		}},
	},
	"nodeport local": {
		Services: []model.ServicePort{func() model.ServicePort {
			sp := web()
			sp.NodePort = 30080
			sp.LoadBalancerIPs = []string{"203.0.113.9"}
			sp.ExternalTrafficPolicyLocal = true
			return sp
		}()},
		Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			ep("10.244.1.5", true, "node-a"),
			ep("10.244.2.7", true, "node-b"),
		}},
	},
}
