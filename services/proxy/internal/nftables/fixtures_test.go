package nftables

import (
	"fmt"
	"time"

	"sigs.k8s.io/knftables"

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

// fixtures are the cases the unit tests check and the netns test loads.
var fixtures = map[string]struct {
	services  []model.ServicePort
	endpoints map[model.ServicePortName][]model.Endpoint
}{
	"two endpoints": {
		services: []model.ServicePort{web()},
		endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			{IP: "10.244.2.7", Port: 8080, Ready: true, Serving: true, NodeName: "node-b"},
			{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true, NodeName: "node-a"},
		}},
	},
	"many endpoints": {
		services: []model.ServicePort{web()},
		endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: func() []model.Endpoint {
			var eps []model.Endpoint
			for i := range cascadeMax + 2 {
				eps = append(eps, model.Endpoint{IP: fmt.Sprintf("10.244.3.%d", i+1), Port: 8080, Ready: true, Serving: true})
			}
			return eps
		}()},
	},
	"no endpoints": {
		services: []model.ServicePort{web()},
	},
	"terminating fallback": {
		services: []model.ServicePort{web()},
		endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Serving: true, Terminating: true},
			{IP: "10.244.2.7", Port: 8080, Terminating: true},
		}},
	},
	"affinity": {
		services: []model.ServicePort{func() model.ServicePort {
			sp := web()
			sp.SessionAffinityTimeout = 3 * time.Hour
			return sp
		}()},
		endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true},
			{IP: "10.244.2.7", Port: 8080, Ready: true, Serving: true},
		}},
	},
	"nodeport local": {
		services: []model.ServicePort{func() model.ServicePort {
			sp := web()
			sp.NodePort = 30080
			sp.LoadBalancerIPs = []string{"203.0.113.9"}
			sp.ExternalTrafficPolicyLocal = true
			return sp
		}()},
		endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: {
			{IP: "10.244.1.5", Port: 8080, Ready: true, Serving: true, NodeName: "node-a"},
			{IP: "10.244.2.7", Port: 8080, Ready: true, Serving: true, NodeName: "node-b"},
		}},
	},
}

// renderText is the full-sync transaction for the state, as nft reads it.
func renderText(opts model.Options, services []model.ServicePort, eps map[model.ServicePortName][]model.Endpoint) (string, error) {
	r, err := Render(opts, model.State{Services: services, Endpoints: eps})
	if err != nil {
		return "", err
	}
	tx := knftables.NewFake(Family, Table).NewTransaction()
	r.Full(tx, nil)
	return tx.String(), nil
}
