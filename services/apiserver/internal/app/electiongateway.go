package app

import (
	"net/http"
	"slices"

	"skiff.dev/services/apiserver/internal/election"
)

// withElectionGateway sends the POSTs of the election service's calls to
// gateway and every other request to rest. The election service
// authorizes each call itself, as the same act on the election's Lease in
// the call's namespace (kube-system by default) whichever face it came
// by, so the gateway is not behind the REST authorization (which would
// take these paths for non-resource URLs and ask for a second, different
// permission); any other path under the prefix goes to rest, which
// authorizes it as a non-resource URL and answers 404.
func withElectionGateway(rest, gateway http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && slices.Contains(election.HTTPPaths, r.URL.Path) {
			gateway.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}
