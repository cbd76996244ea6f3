package rest

import (
	"net/http"
	"strconv"

	"google.golang.org/protobuf/proto"

	authenticationv1 "skiff.dev/api/authentication/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
	"skiff.dev/services/apiserver/internal/warning"
)

var tokenRequestResource = &registry.Resource{Group: "authentication.k8s.io", Version: "v1", Plural: "tokenrequests", Kind: "TokenRequest",
	NoTable: true, New: func() proto.Message { return &authenticationv1.TokenRequest{} }}

// serveToken answers POST serviceaccounts/NAME/token with the TokenRequest
// and the issued token in its status (kubectl create token).
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	tc, ok := s.Backend.(registry.TokenIssuer)
	if !ok {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/token"))
		return
	}
	if info.Verb != "create" {
		writeError(w, r, apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), r.Method+" token"))
		return
	}
	in, err := decodeObject(w, r, tokenRequestResource)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ctx, warnings := warning.NewContext(r.Context())
	out, err := tc.CreateToken(ctx, info.Namespace, info.Name, in.(*authenticationv1.TokenRequest))
	if err != nil {
		writeError(w, r, err)
		return
	}
	for _, msg := range warnings.Warnings() {
		w.Header().Add("Warning", "299 - "+strconv.Quote(msg))
	}
	h.answer(w, r, tokenRequestResource, http.StatusCreated, out)
}
