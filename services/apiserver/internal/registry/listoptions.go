package registry

import (
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/field"
	"skiff.dev/services/apiserver/internal/storage"
)

// listOptionsResource names the options in their Invalid answer:
// ListOptions.meta.k8s.io "" is invalid.
var listOptionsResource = apierrors.Resource{Group: "meta.k8s.io", Kind: "ListOptions"}

// defaultWatchOptions turns a watch from "now" (resourceVersion unset or
// "0") that names neither sendInitialEvents nor resourceVersionMatch into
// the streaming list it means, as Kubernetes does with its WatchList
// feature on: the state as ADDED events, then changes.
func defaultWatchOptions(opts *ListOptions) {
	if opts.SendInitialEvents != nil || opts.ResourceVersionMatch != "" {
		return
	}
	if opts.ResourceVersion == "" || opts.ResourceVersion == "0" {
		send := true
		opts.SendInitialEvents = &send
		opts.ResourceVersionMatch = storage.MatchNotOlderThan
	}
}

// validateListOptions checks the resourceVersion parameters of a list or
// watch with Kubernetes' rules and field errors; the answer is 422
// Invalid.
func validateListOptions(opts ListOptions, watch bool) error {
	var errs field.ErrorList
	if watch {
		errs = validateWatchOptions(opts)
	} else {
		errs = validateListOnlyOptions(opts)
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(listOptionsResource, "", errs)
}

func validateListOnlyOptions(opts ListOptions) field.ErrorList {
	var errs field.ErrorList
	matchPath := field.NewPath("resourceVersionMatch")
	if match := opts.ResourceVersionMatch; match != "" {
		if opts.ResourceVersion == "" {
			errs = append(errs, field.Forbidden(matchPath, "resourceVersionMatch is forbidden unless resourceVersion is provided"))
		}
		if opts.Continue != "" {
			errs = append(errs, field.Forbidden(matchPath, "resourceVersionMatch is forbidden when continue is provided"))
		}
		if match != storage.MatchExact && match != storage.MatchNotOlderThan {
			errs = append(errs, field.NotSupported(matchPath, match, []string{storage.MatchExact, storage.MatchNotOlderThan, ""}))
		}
		if match == storage.MatchExact && opts.ResourceVersion == "0" {
			errs = append(errs, field.Forbidden(matchPath, `resourceVersionMatch "exact" is forbidden for resourceVersion "0"`))
		}
	}
	if opts.SendInitialEvents != nil {
		errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
	}
	return errs
}

func validateWatchOptions(opts ListOptions) field.ErrorList {
	var errs field.ErrorList
	matchPath := field.NewPath("resourceVersionMatch")
	match := opts.ResourceVersionMatch
	if opts.SendInitialEvents != nil && match != storage.MatchNotOlderThan {
		errs = append(errs, field.Forbidden(matchPath, "sendInitialEvents requires setting resourceVersionMatch to "+storage.MatchNotOlderThan))
	}
	if match != "" {
		if opts.SendInitialEvents == nil {
			errs = append(errs, field.Forbidden(matchPath, "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
		}
		if match != storage.MatchNotOlderThan {
			errs = append(errs, field.NotSupported(matchPath, match, []string{storage.MatchNotOlderThan}))
		}
		if opts.Continue != "" {
			errs = append(errs, field.Forbidden(matchPath, "resourceVersionMatch is forbidden when continue is provided"))
		}
	}
	return errs
}
