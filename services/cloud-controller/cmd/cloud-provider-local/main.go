// Command cloud-provider-local is the cloud-controller's built-in local
// provider as a provider plugin: run it with
// --cloud-provider=/path/to/cloud-provider-local to exercise the plugin
// path with the local provider's behaviour.
package main

import (
	"skiff.dev/pkg/cloudprovider"
	"skiff.dev/services/cloud-controller/internal/local"
)

func main() { cloudprovider.Serve(local.Name, &local.Provider{}) }
