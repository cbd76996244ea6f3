package app

import (
	"context"

	"skiff.dev/services/apiserver/internal/api"
	"skiff.dev/services/apiserver/internal/auth"
	"skiff.dev/services/apiserver/internal/bootstraptoken"
)

// bootstrapTokens is the bootstrap token authenticator, fed from the
// secrets backend until ctx ends, or with --enable-bootstrap-token-auth=false
// an authenticator that accepts nothing. It comes after the token file and
// service-account tokens, as in Kubernetes' chain.
func (o *Options) bootstrapTokens(ctx context.Context, a *api.API) (auth.TokenAuthenticator, error) {
	if !o.EnableBootstrapTokenAuth {
		return auth.Chain{}, nil
	}
	b := bootstraptoken.New()
	if err := b.Start(ctx, a.Backend("", "secrets")); err != nil {
		return nil, err
	}
	return b, nil
}
