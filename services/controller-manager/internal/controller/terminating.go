package controller

import (
	"errors"

	"skiff.dev/pkg/client"
)

// NamespaceTerminating reports the apiserver's refusal to create in a
// terminating namespace (Forbidden with the cause NamespaceTerminating):
// a controller stops trying there, as Kubernetes' controllers do.
func NamespaceTerminating(err error) bool {
	var se *client.StatusError
	if !errors.As(err, &se) || se.Status.GetReason() != "Forbidden" {
		return false
	}
	for _, c := range se.Status.GetDetails().GetCauses() {
		if c.GetReason() == "NamespaceTerminating" {
			return true
		}
	}
	return false
}
