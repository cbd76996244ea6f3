package validation

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	apiextensionsv1 "skiff.dev/api/apiextensions/v1"
	"skiff.dev/services/apiserver/internal/crdnames"
	"skiff.dev/services/apiserver/internal/field"
)

// reviewVersions are the ConversionReview versions the API server sends.
var reviewVersions = []string{"v1", "v1beta1"}

// conversion checks the strategy and, for Webhook, where the webhook is
// and the review versions it understands. Kubernetes' internal form has
// the webhook's fields on the conversion itself, and so do the paths:
// spec.conversion.webhookClientConfig, spec.conversion.conversionReviewVersions.
func conversion(c *apiextensionsv1.CustomResourceConversion, rules crdRules, p *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	errs := oneOf(c.GetStrategy(), []string{"None", "Webhook"}, p.Child("strategy"))
	cc, reviews := c.GetWebhook().GetClientConfig(), c.GetWebhook().GetConversionReviewVersions()
	ccp := p.Child("webhookClientConfig")
	if c.GetStrategy() != "Webhook" {
		const msg = "should not be set when strategy is not set to Webhook"
		if cc != nil {
			errs = append(errs, field.Forbidden(ccp, msg))
		}
		if len(reviews) > 0 {
			errs = append(errs, field.Forbidden(p.Child("conversionReviewVersions"), msg))
		}
		return errs
	}
	switch {
	case cc == nil:
		errs = append(errs, field.Required(ccp, "required when strategy is set to Webhook"))
	case (cc.Url == nil) == (cc.Service == nil):
		errs = append(errs, field.Required(ccp, "exactly one of url or service is required"))
	case cc.Url != nil:
		errs = append(errs, webhookURL(cc.GetUrl(), ccp.Child("url"))...)
	default:
		svc := cc.GetService()
		errs = append(errs, webhookService(svc.GetNamespace(), svc.GetName(), svc.Path, svc.GetPort(), ccp.Child("service"))...)
	}
	if ca := cc.GetCaBundle(); len(ca) > 0 && rules.checkCABundle {
		if err := crdnames.CABundleError(ca); err != nil {
			errs = append(errs, field.Invalid(ccp.Child("caBundle"), jsonValue{ca}, err.Error()))
		}
	}
	return append(errs, conversionReviewVersions(reviews, rules.requireKnownReviewVersion, p.Child("conversionReviewVersions"))...)
}

func conversionReviewVersions(versions []string, requireKnown bool, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for i, v := range versions {
		if slices.Index(versions[:i], v) >= 0 {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		for _, msg := range validation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
	}
	if requireKnown && !knownReviewVersion(versions) {
		errs = append(errs, field.Invalid(p, jsonValue{versions}, "must include at least one of "+strings.Join(reviewVersions, ", ")))
	}
	return errs
}

func knownReviewVersion(versions []string) bool {
	return slices.ContainsFunc(versions, func(v string) bool { return slices.Contains(reviewVersions, v) })
}

// webhookURL: an https URL with a host, no user, query or fragment.
func webhookURL(s string, p *field.Path) field.ErrorList {
	const form = "; desired format: https://host[/path]"
	u, err := url.Parse(s)
	if err != nil {
		return field.ErrorList{field.Required(p, "url must be a valid URL: "+err.Error()+form)}
	}
	var errs field.ErrorList
	if u.Scheme != "https" {
		errs = append(errs, field.Invalid(p, u.Scheme, "'https' is the only allowed URL scheme"+form))
	}
	if u.Host == "" {
		errs = append(errs, field.Invalid(p, u.Host, "host must be specified"+form))
	}
	if u.User != nil {
		errs = append(errs, field.Invalid(p, u.User.String(), "user information is not permitted in the URL"))
	}
	if u.Fragment != "" {
		errs = append(errs, field.Invalid(p, u.Fragment, "fragments are not permitted in the URL"))
	}
	if u.RawQuery != "" {
		errs = append(errs, field.Invalid(p, u.RawQuery, "query parameters are not permitted in the URL"))
	}
	return errs
}

// webhookService: a named service, a valid port (an unset one, which
// defaulting makes 443, counts as 0), and a path of DNS subdomain
// segments.
func webhookService(namespace, name string, path *string, port int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if namespace == "" {
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	}
	if msgs := validation.IsValidPortNum(int(port)); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("port"), port, "port is not valid: "+strings.Join(msgs, ", ")))
	}
	if path == nil {
		return errs
	}
	return append(errs, webhookPath(*path, p.Child("path"))...)
}

func webhookPath(path string, p *field.Path) field.ErrorList {
	switch path {
	case "", "/":
		return nil
	case "//":
		return field.ErrorList{field.Invalid(p, path, "segment[0] may not be empty")}
	}
	var errs field.ErrorList
	if !strings.HasPrefix(path, "/") {
		errs = append(errs, field.Invalid(p, path, "must start with a '/'"))
	}
	for i, seg := range strings.Split(strings.TrimSuffix(path[1:], "/"), "/") {
		if seg == "" {
			errs = append(errs, field.Invalid(p, path, fmt.Sprintf("segment[%d] may not be empty", i)))
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(seg) {
			errs = append(errs, field.Invalid(p, path, fmt.Sprintf("segment[%d]: %v", i, msg)))
		}
	}
	return errs
}
