// Package discovery serves what clients read before anything else: /version,
// the legacy discovery documents (/api, /apis, /api/v1, /apis/G/V) and the
// aggregated discovery of apidiscovery.k8s.io/v2 that kubectl asks for
// first.
package discovery

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"runtime"
	"sort"
	"strings"

	"skiff.dev/services/apiserver/internal/registry"
)

// Version is what /version reports: Kubernetes 1.32, the API level Skiff
// serves.
var Version = Info{
	Major: "1", Minor: "32", GitVersion: "v1.32.0-skiff", GitTreeState: "clean",
	GoVersion: runtime.Version(), Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
}

// Info is the /version document.
type Info struct {
	Major        string `json:"major"`
	Minor        string `json:"minor"`
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
	BuildDate    string `json:"buildDate"`
	GoVersion    string `json:"goVersion"`
	Compiler     string `json:"compiler"`
	Platform     string `json:"platform"`
}

// aggregatedV2 is the media type of aggregated discovery.
const aggregatedV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// subresource is one served subresource of a resource.
type subresource struct {
	name                 string
	group, version, kind string
	verbs                []string
}

func subresourcesOf(r *registry.Resource) []subresource {
	var out []subresource
	for _, name := range r.Subresources {
		switch name {
		case "status":
			out = append(out, subresource{name, r.Group, r.Version, r.Kind, []string{"get", "patch", "update"}})
		case "scale":
			out = append(out, subresource{name, "autoscaling", "v1", "Scale", []string{"get", "patch", "update"}})
		case "binding":
			out = append(out, subresource{name, "", "v1", "Binding", []string{"create"}})
		case "finalize":
			out = append(out, subresource{name, r.Group, r.Version, r.Kind, []string{"update"}})
		case "eviction":
			out = append(out, subresource{name, "policy", "v1", "Eviction", []string{"create"}})
		case "token":
			out = append(out, subresource{name, "authentication.k8s.io", "v1", "TokenRequest", []string{"create"}})
		default: // a part of the object (pods/ephemeralcontainers)
			out = append(out, subresource{name, r.Group, r.Version, r.Kind, []string{"get", "patch", "update"}})
		}
	}
	return out
}

// groupVersion is one served group/version and its resources.
type groupVersion struct {
	group, version string
	resources      []*registry.Resource
}

func (gv groupVersion) String() string {
	if gv.group == "" {
		return gv.version
	}
	return gv.group + "/" + gv.version
}

// Handler serves the discovery documents of a fixed set of resources.
type Handler struct {
	gvs       []groupVersion // core first, then groups in order of appearance
	documents map[string][]byte
}

// New builds the documents once; they never change while the server runs.
func New(resources []*registry.Resource) *Handler {
	h := &Handler{documents: map[string][]byte{}}
	index := map[string]int{}
	for _, r := range resources {
		key := r.GroupVersion()
		i, ok := index[key]
		if !ok {
			i = len(h.gvs)
			index[key] = i
			h.gvs = append(h.gvs, groupVersion{group: r.Group, version: r.Version})
		}
		h.gvs[i].resources = append(h.gvs[i].resources, r)
	}
	// The core group first, then groups in order of appearance; within a
	// group, versions in Kubernetes' order of preference.
	groupOrder := map[string]int{"": -1}
	for _, gv := range h.gvs {
		if _, ok := groupOrder[gv.group]; !ok {
			groupOrder[gv.group] = len(groupOrder)
		}
	}
	sort.SliceStable(h.gvs, func(i, j int) bool {
		a, b := h.gvs[i], h.gvs[j]
		if a.group != b.group {
			return groupOrder[a.group] < groupOrder[b.group]
		}
		return versionLess(a.version, b.version)
	})
	version, _ := json.Marshal(Version)
	h.documents["/version"] = version
	h.documents["/api"] = mustJSON(map[string]any{
		"kind": "APIVersions", "versions": []string{"v1"},
		"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}},
	})
	var groups []map[string]any
	for _, g := range byGroup(h.gvs) {
		for _, gv := range g {
			h.documents[pathOf(gv)] = mustJSON(resourceList(gv))
		}
		if g[0].group == "" {
			continue
		}
		var versions []any
		for _, gv := range g {
			versions = append(versions, map[string]string{"groupVersion": gv.String(), "version": gv.version})
		}
		group := map[string]any{"name": g[0].group, "versions": versions, "preferredVersion": versions[0]}
		groups = append(groups, group)
		h.documents["/apis/"+g[0].group] = mustJSON(map[string]any{
			"kind": "APIGroup", "apiVersion": "v1", "name": g[0].group, "versions": versions, "preferredVersion": versions[0],
		})
	}
	h.documents["/apis"] = mustJSON(map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
	h.documents["aggregated:/api"] = mustJSON(aggregated(h.gvs, true))
	h.documents["aggregated:/apis"] = mustJSON(aggregated(h.gvs, false))
	return h
}

func pathOf(gv groupVersion) string {
	if gv.group == "" {
		return "/api/" + gv.version
	}
	return "/apis/" + gv.group + "/" + gv.version
}

func resourceList(gv groupVersion) map[string]any {
	var list []map[string]any
	for _, r := range gv.resources {
		entry := map[string]any{
			"name": r.Plural, "singularName": r.Singular, "namespaced": r.Namespaced, "kind": r.Kind,
			"verbs": r.ServedVerbs(),
		}
		if r.Verbs == nil { // stored; the same hash where two resources share their objects
			entry["storageVersionHash"] = r.StorageVersionHash()
		}
		if len(r.ShortNames) > 0 {
			entry["shortNames"] = r.ShortNames
		}
		if len(r.Categories) > 0 {
			entry["categories"] = r.Categories
		}
		list = append(list, entry)
		for _, sub := range subresourcesOf(r) {
			e := map[string]any{"name": r.Plural + "/" + sub.name, "singularName": "", "namespaced": r.Namespaced,
				"kind": sub.kind, "verbs": sub.verbs}
			if sub.group != r.Group || sub.version != r.Version {
				e["group"], e["version"] = sub.group, sub.version
			}
			list = append(list, e)
		}
	}
	return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv.String(), "resources": list}
}

// byGroup splits the group/versions, in order, into runs of one group.
func byGroup(gvs []groupVersion) [][]groupVersion {
	var out [][]groupVersion
	for _, gv := range gvs {
		if n := len(out); n > 0 && out[n-1][0].group == gv.group {
			out[n-1] = append(out[n-1], gv)
			continue
		}
		out = append(out, []groupVersion{gv})
	}
	return out
}

func aggregated(gvs []groupVersion, core bool) map[string]any {
	items := []any{}
	for _, g := range byGroup(gvs) {
		if (g[0].group == "") != core {
			continue
		}
		var versions []any
		for _, gv := range g {
			versions = append(versions, aggregatedVersion(gv))
		}
		meta := map[string]any{}
		if g[0].group != "" {
			meta["name"] = g[0].group
		}
		items = append(items, map[string]any{"metadata": meta, "versions": versions})
	}
	return map[string]any{"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": map[string]any{}, "items": items}
}

// aggregatedVersion is one version's entry in aggregated discovery.
func aggregatedVersion(gv groupVersion) map[string]any {
	{
		var resources []any
		for _, r := range gv.resources {
			scope := "Cluster"
			if r.Namespaced {
				scope = "Namespaced"
			}
			entry := map[string]any{
				"resource": r.Plural, "singularResource": r.Singular, "scope": scope, "verbs": r.ServedVerbs(),
				"responseKind": map[string]string{"group": r.Group, "version": r.Version, "kind": r.Kind},
			}
			if len(r.ShortNames) > 0 {
				entry["shortNames"] = r.ShortNames
			}
			if len(r.Categories) > 0 {
				entry["categories"] = r.Categories
			}
			var subs []any
			for _, sub := range subresourcesOf(r) {
				subs = append(subs, map[string]any{
					"subresource": sub.name, "verbs": sub.verbs,
					"responseKind": map[string]string{"group": sub.group, "version": sub.version, "kind": sub.kind},
				})
			}
			if subs != nil {
				entry["subresources"] = subs
			}
			resources = append(resources, entry)
		}
		return map[string]any{"version": gv.version, "resources": resources, "freshness": "Current"}
	}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and slices: cannot fail
	}
	return data
}

// Match reports whether path is a discovery document this handler serves.
func (h *Handler) Match(path string) bool {
	_, ok := h.documents[strings.TrimSuffix(path, "/")]
	return ok
}

// ServeHTTP answers GET requests for the discovery documents.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	contentType := "application/json"
	doc := h.documents[path]
	if (path == "/api" || path == "/apis") && wantsAggregated(r.Header.Get("Accept")) {
		doc = h.documents["aggregated:"+path]
		contentType = aggregatedV2
	}
	if doc == nil {
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(doc)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Vary", "Accept")
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(doc)
}

// wantsAggregated reports whether the Accept header lists aggregated
// discovery v2 (kubectl lists it before plain JSON).
func wantsAggregated(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		params := map[string]string{}
		fields := strings.Split(part, ";")
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok {
				params[k] = v
			}
		}
		if strings.TrimSpace(fields[0]) == "application/json" && params["g"] == "apidiscovery.k8s.io" &&
			params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			return true
		}
	}
	return false
}
