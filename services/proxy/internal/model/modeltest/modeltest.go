// Package modeltest holds the states the proxy backends' tests render and
// load, so both backends are checked against the same cases.
package modeltest

import (
	"time"

	"skiff.dev/services/proxy/internal/model"
)

// Options are the node the fixtures are rendered for: node-a at
// 192.168.50.2, pods in 10.244.0.0/16.
var Options = model.Options{
	NodeName:       "node-a",
	NodeIPs:        []string{"192.168.50.2"},
	ClusterCIDR:    "10.244.0.0/16",
	MasqueradeMark: 0x4000,
}

// Web is the fixtures' Service port: default/web, http, 10.96.0.10:80.
func Web() model.ServicePort {
	return model.ServicePort{
		ServicePortName: model.ServicePortName{Namespace: "default", Name: "web", PortName: "http", Protocol: model.TCP},
		ClusterIP:       "10.96.0.10",
		Port:            80,
	}
}

// DNS is a Service's two ports on one number, as cluster DNS has them:
// 10.96.0.10:53 over UDP (dns) and TCP (dns-tcp).
func DNS() (udp, tcp model.ServicePort) {
	udp = model.ServicePort{
		ServicePortName: model.ServicePortName{Namespace: "kube-system", Name: "kube-dns", PortName: "dns", Protocol: model.UDP},
		ClusterIP:       "10.96.0.10",
		Port:            53,
	}
	tcp = udp
	tcp.PortName, tcp.Protocol = "dns-tcp", model.TCP
	return udp, tcp
}

// Endpoint is a backend on port 8080, ready (and serving) or not.
func Endpoint(ip string, ready bool, node string) model.Endpoint {
	return model.Endpoint{IP: ip, Port: 8080, Ready: ready, Serving: ready, NodeName: node}
}

// Fixtures are the cases, by name; each call returns fresh values.
func Fixtures() map[string]model.State {
	web := Web()
	return map[string]model.State{
		"two endpoints": {
			Services: []model.ServicePort{web},
			Endpoints: map[model.ServicePortName][]model.Endpoint{web.ServicePortName: {
				Endpoint("10.244.2.7", true, "node-b"),
				Endpoint("10.244.1.5", true, "node-a"),
			}},
		},
		"tcp and udp on one port": func() model.State {
			udp, tcp := DNS()
			udp.NodePort, tcp.NodePort = 30053, 30053
			eps := []model.Endpoint{Endpoint("10.244.1.5", true, "node-a"), Endpoint("10.244.2.7", true, "node-b")}
			return model.State{Services: []model.ServicePort{udp, tcp},
				Endpoints: map[model.ServicePortName][]model.Endpoint{udp.ServicePortName: eps, tcp.ServicePortName: eps}}
		}(),
		// The same Service with its TCP port removed, as the conformance
		// spec "should serve endpoints on same port and different
		// protocols" ends: the ClusterIP stays, serving UDP only.
		"udp alone on the port": func() model.State {
			udp, _ := DNS()
			udp.NodePort = 30053
			eps := []model.Endpoint{Endpoint("10.244.1.5", true, "node-a"), Endpoint("10.244.2.7", true, "node-b")}
			return model.State{Services: []model.ServicePort{udp},
				Endpoints: map[model.ServicePortName][]model.Endpoint{udp.ServicePortName: eps}}
		}(),
		"no endpoints": {
			Services: []model.ServicePort{web},
		},
		"terminating fallback": {
			Services: []model.ServicePort{web},
			Endpoints: map[model.ServicePortName][]model.Endpoint{web.ServicePortName: {
				{IP: "10.244.1.5", Port: 8080, Serving: true, Terminating: true},
				{IP: "10.244.2.7", Port: 8080, Terminating: true},
			}},
		},
		"affinity": {
			Services: []model.ServicePort{func() model.ServicePort {
				sp := Web()
				sp.SessionAffinityTimeout = 3 * time.Hour
				return sp
			}()},
			Endpoints: map[model.ServicePortName][]model.Endpoint{web.ServicePortName: {
				Endpoint("10.244.1.5", true, ""),
				Endpoint("10.244.2.7", true, ""),
			}},
		},
		"nodeport local": {
			Services: []model.ServicePort{func() model.ServicePort {
				sp := Web()
				sp.NodePort = 30080
				sp.LoadBalancerIPs = []string{"203.0.113.9"}
				sp.ExternalTrafficPolicyLocal = true
				return sp
			}()},
			Endpoints: map[model.ServicePortName][]model.Endpoint{web.ServicePortName: {
				Endpoint("10.244.1.5", true, "node-a"),
				Endpoint("10.244.2.7", true, "node-b"),
			}},
		},
	}
}
