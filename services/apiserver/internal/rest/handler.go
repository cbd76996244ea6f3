package rest

import (
	"net/http"
	"strings"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/catalog"
)

// Served is one resource and the backend that serves it.
type Served = catalog.Entry

// Catalog gives the resources served at the moment of a request.
type Catalog interface {
	Snapshot() *catalog.Snapshot
}

// Config assembles the REST face.
type Config struct {
	Catalog Catalog
	// NotResource serves every path that is not a resource request
	// (discovery, OpenAPI, /version).
	NotResource http.Handler
	// Observe is told about every finished resource request (metrics).
	Observe func(verb, resource string, code int, d time.Duration)
	// MaxWatchTimeout bounds a watch that gives no timeoutSeconds.
	MaxWatchTimeout time.Duration
	// Kubelets reaches the nodes' kubelets for pods/log, exec, attach and
	// portforward; without it they answer 503.
	Kubelets KubeletConnector
}

// Handler is the REST face.
type Handler struct {
	cfg Config
}

// New builds the REST face from its configuration.
func New(cfg Config) *Handler {
	if cfg.MaxWatchTimeout == 0 {
		cfg.MaxWatchTimeout = 30 * time.Minute
	}
	return &Handler{cfg: cfg}
}

// lookup finds a served resource.
func (h *Handler) lookup(group, version, resource string) (Served, bool) {
	return h.cfg.Catalog.Snapshot().Lookup(group, version, resource)
}

// statusRecorder remembers the status code for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection, so proxied
// upgrades (pods/exec) can hijack it.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTP routes resource requests to their handlers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info, ok := parseRequestInfo(r)
	if !ok {
		if h.cfg.NotResource != nil {
			h.cfg.NotResource.ServeHTTP(w, r)
			return
		}
		writeError(w, r, notFoundPath(r))
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if h.cfg.Observe != nil {
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			h.cfg.Observe(info.Verb, info.Resource, code, time.Since(start))
		}
	}()
	served, found := h.lookup(info.Group, info.Version, info.Resource)
	if !found {
		writeError(rec, r, notFoundPath(r))
		return
	}
	h.serve(rec, r, info, served)
}

func notFoundPath(r *http.Request) error {
	se := apierrors.NewNotFound(apierrors.Resource{}, "")
	se.Status.Message = "the server could not find the requested resource"
	se.Status.Details = &metav1.StatusDetails{}
	return se
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	res := s.Resource
	if res.Namespaced && info.Namespace == "" && info.Name != "" {
		writeError(w, r, apierrors.NewNotFound(res.ErrorResource(), info.Name))
		return
	}
	if res.NoProtobuf {
		jsonOnly, err := withoutProtobuf(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		r = jsonOnly
	}
	if info.Subresource == "proxy" || strings.HasPrefix(info.Subresource, "proxy/") {
		h.serveProxy(w, r, info, s)
		return
	}
	if !acceptsAnswer(r.Header.Get("Accept"), res, info.Subresource) {
		writeError(w, r, apierrors.NewNotAcceptable(r.Header.Get("Accept")))
		return
	}
	switch info.Subresource {
	case "":
		h.serveMain(w, r, info, s)
	case "status":
		h.serveStatus(w, r, info, s)
	case "scale":
		h.serveScale(w, r, info, s)
	case "binding":
		h.serveBinding(w, r, info, s)
	case "eviction":
		h.serveEviction(w, r, info, s)
	case "finalize":
		h.serveFinalize(w, r, info, s)
	case "token":
		h.serveToken(w, r, info, s)
	case "ephemeralcontainers", "approval":
		h.servePart(w, r, info, s)
	case "log", "exec", "attach", "portforward":
		h.servePodStream(w, r, info, s)
	default:
		writeError(w, r, apierrors.NewNotFound(res.ErrorResource(), info.Name+"/"+info.Subresource))
	}
}

func (h *Handler) serveMain(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	switch info.Verb {
	case "get":
		h.get(w, r, info, s)
	case "list":
		h.list(w, r, info, s)
	case "watch":
		h.watch(w, r, info, s)
	case "create":
		h.create(w, r, info, s)
	case "update":
		h.update(w, r, info, s, "")
	case "patch":
		h.patch(w, r, info, s, "")
	case "delete":
		h.delete(w, r, info, s)
	case "deletecollection":
		h.deleteCollection(w, r, info, s)
	default:
		writeError(w, r, apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), r.Method))
	}
}

func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request, info requestInfo, s Served) {
	if !s.Resource.HasStatus {
		writeError(w, r, apierrors.NewNotFound(s.Resource.ErrorResource(), info.Name+"/status"))
		return
	}
	switch info.Verb {
	case "get":
		h.get(w, r, info, s)
	case "update":
		h.update(w, r, info, s, "status")
	case "patch":
		h.patch(w, r, info, s, "status")
	default:
		writeError(w, r, apierrors.NewMethodNotSupported(s.Resource.ErrorResource(), r.Method+" status"))
	}
}
