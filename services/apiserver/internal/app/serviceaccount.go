package app

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/pki"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/serviceaccount"
)

// validateServiceAccounts checks the service-account token flags.
func (o *Options) validateServiceAccounts() []error {
	var errs []error
	if len(o.ServiceAccountIssuers) == 0 {
		errs = append(errs, errors.New("--service-account-issuer is required"))
	}
	for i, iss := range o.ServiceAccountIssuers {
		switch {
		case iss == "":
			errs = append(errs, errors.New("--service-account-issuer must not be empty"))
		case slices.Contains(o.ServiceAccountIssuers[:i], iss):
			errs = append(errs, fmt.Errorf("--service-account-issuer %q is given twice", iss))
		case strings.Contains(iss, ":"):
			if u, err := url.Parse(iss); err != nil || u.Scheme == "" || u.Host == "" {
				errs = append(errs, fmt.Errorf("--service-account-issuer %q contains a ':' but is not a URL", iss))
			}
		}
	}
	if slices.Contains(o.APIAudiences, "") {
		errs = append(errs, errors.New("--api-audiences must not hold an empty audience"))
	}
	if m := o.ServiceAccountMaxExpiration; m != 0 && m < time.Hour {
		errs = append(errs, fmt.Errorf("--service-account-max-token-expiration %s is shorter than 1h", m))
	}
	return errs
}

// apiAudiences are the audiences of the apiserver's own tokens:
// --api-audiences, by default the first --service-account-issuer.
func (o *Options) apiAudiences() []string {
	if len(o.APIAudiences) > 0 {
		return o.APIAudiences
	}
	return o.ServiceAccountIssuers[:1]
}

// serviceAccounts is what service-account tokens add to the server.
type serviceAccounts struct {
	tokens        *serviceaccount.TokenRequests
	authenticator *serviceaccount.Authenticator
	oidc          *serviceaccount.OIDC
}

// serviceAccounts loads the signing key (generating one into the data
// directory when none is given) and the verification keys, and gives the
// serviceaccounts backend of a its token subresource.
func (o *Options) serviceAccounts(a *api.API) (*serviceAccounts, error) {
	keyFile := o.ServiceAccountSigningKeyFile
	if keyFile == "" {
		var err error
		if keyFile, err = pki.EnsureServiceAccountKey(filepath.Join(o.DataDir, "pki")); err != nil {
			return nil, fmt.Errorf("generate the service account signing key: %w", err)
		}
	}
	key, err := serviceaccount.LoadSigningKey(keyFile)
	if err != nil {
		return nil, fmt.Errorf("--service-account-signing-key-file: %w", err)
	}
	verify, err := serviceaccount.LoadPublicKeys(o.ServiceAccountKeyFiles...)
	if err != nil {
		return nil, fmt.Errorf("--service-account-key-file: %w", err)
	}
	cfg := serviceaccount.Config{
		Issuers: o.ServiceAccountIssuers, APIAudiences: o.apiAudiences(),
		SigningKey: key, VerifyKeys: verify,
		MaxExpiration: o.ServiceAccountMaxExpiration, ExtendExpiration: o.ServiceAccountExtendExpiration,
		Objects: serviceaccount.BackendObjects(a.Backend),
	}
	out := &serviceAccounts{}
	if out.tokens, err = serviceaccount.NewTokenRequests(cfg); err != nil {
		return nil, err
	}
	if out.authenticator, err = serviceaccount.NewAuthenticator(cfg); err != nil {
		return nil, err
	}
	if out.oidc, err = serviceaccount.NewOIDC(out.authenticator, o.ServiceAccountJWKSURI); err != nil {
		return nil, err
	}
	err = a.Wrap("", "serviceaccounts", func(b registry.Backend) registry.Backend {
		return serviceaccount.Backend{Backend: b, Tokens: out.tokens}
	})
	return out, err
}
