package nftables

import (
	"fmt"

	"sigs.k8s.io/knftables"

	"skiff.dev/services/proxy/internal/model"
	"skiff.dev/services/proxy/internal/model/modeltest"
)

var (
	testOptions = modeltest.Options
	web         = modeltest.Web
	// fixtures are the backends' shared cases and one of this renderer's
	// own: more endpoints than a cascade balances.
	fixtures = func() map[string]model.State {
		f := modeltest.Fixtures()
		var eps []model.Endpoint
		for i := range cascadeMax + 2 {
			eps = append(eps, modeltest.Endpoint(fmt.Sprintf("10.244.3.%d", i+1), true, ""))
		}
		f["many endpoints"] = model.State{Services: []model.ServicePort{web()}, Endpoints: map[model.ServicePortName][]model.Endpoint{web().ServicePortName: eps}}
		return f
	}()
)

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
