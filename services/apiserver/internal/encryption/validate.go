package encryption

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Key sizes in bytes: AES-128/192/256, and secretbox's one.
var (
	aesKeySizes       = []int{16, 24, 32}
	secretboxKeySizes = []int{32}
)

// groupResource is a resources entry: Group "" is the core group, "*" a
// wildcard.
type groupResource struct{ Group, Resource string }

// parseGroupResource splits "deployments.apps" at its first dot, as
// Kubernetes does: "secrets" is core, "*." all of core, "*.*" everything.
func parseGroupResource(s string) groupResource {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return groupResource{Group: s[i+1:], Resource: s[:i]}
	}
	return groupResource{Resource: s}
}

// String writes the entry back as the file writes it.
func (gr groupResource) String() string {
	if gr.Group == "" {
		if gr.Resource == "*" {
			return "*."
		}
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}

var anyResource = groupResource{Group: "*", Resource: "*"}

// errs collects errors that name their field.
type errs []error

func (e *errs) add(path, format string, args ...any) {
	*e = append(*e, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// Validate checks the configuration by Kubernetes' rules (and refuses
// two keys of one provider with the same name, which Kubernetes allows
// but never reads back by the second). Every error names its field.
func (c *Configuration) Validate() error {
	var e errs
	if len(c.Resources) == 0 {
		e.add("resources", "at least one resource list is required")
		return errors.Join(e...)
	}
	kmsNames := map[string]bool{}
	seen := map[groupResource]string{} // entry -> the path that named it
	for i, rc := range c.Resources {
		path := fmt.Sprintf("resources[%d]", i)
		if len(rc.Resources) == 0 {
			e.add(path+".resources", "at least one resource is required")
		}
		validateResourceNames(&e, path+".resources", rc.Resources)
		validateOverlap(&e, path+".resources", rc.Resources)
		validateMasking(&e, path+".resources", rc.Resources, seen)
		if len(rc.Providers) == 0 {
			e.add(path+".providers", "at least one provider is required")
		}
		for j, p := range rc.Providers {
			validateProvider(&e, fmt.Sprintf("%s.providers[%d]", path, j), p, kmsNames)
		}
	}
	return errors.Join(e...)
}

func validateResourceNames(e *errs, path string, resources []string) {
	for j, r := range resources {
		p := fmt.Sprintf("%s[%d]", path, j)
		gr := parseGroupResource(r)
		switch {
		case strings.ToLower(r) != r:
			e.add(p, "%q: resource names are lowercase", r)
		case r == "*":
			e.add(p, "%q: write \"*.\" for every resource of the core group or \"*.*\" for every resource", r)
		case r == "apiserveripinfo" || r == "serviceipallocations" || r == "servicenodeportallocations":
			e.add(p, "%q has no REST API and cannot be encrypted", r)
		case gr.Group == "events.k8s.io":
			e.add(p, "%q: events.k8s.io Events are stored as core Events; write \"events\"", r)
		case gr.Group == "extensions":
			e.add(p, "%q: the extensions group is gone and cannot be encrypted", r)
		case gr.Group == "*" && gr.Resource != "*":
			e.add(p, "%q: a resource cannot be encrypted across groups; name its group", r)
		}
	}
}

// validateOverlap refuses an entry listed twice in one list, and a
// wildcard with an entry it covers in the same list.
func validateOverlap(e *errs, path string, resources []string) {
	grs := make([]groupResource, len(resources))
	for i, r := range resources {
		grs[i] = parseGroupResource(r)
	}
	for i, a := range grs {
		for j := i + 1; j < len(grs); j++ {
			b := grs[j]
			switch {
			case a == b:
				e.add(path, "%q is listed twice", a.String())
			case a == anyResource || b == anyResource ||
				(a.Group == b.Group && (a.Resource == "*" || b.Resource == "*")):
				e.add(path, "%q and %q overlap: the wildcard masks the other in the same list", a.String(), b.String())
			}
		}
	}
}

// validateMasking refuses an entry that a wildcard of an earlier list
// already covers: it would never apply.
func validateMasking(e *errs, path string, resources []string, seen map[groupResource]string) {
	var mine []groupResource
	for _, r := range resources {
		gr := parseGroupResource(r)
		for _, w := range []groupResource{{Group: gr.Group, Resource: "*"}, anyResource} {
			if earlier, ok := seen[w]; ok {
				e.add(path, "%q is masked by %q of %s", gr.String(), w.String(), earlier)
				break
			}
		}
		mine = append(mine, gr)
	}
	for _, gr := range mine {
		if _, ok := seen[gr]; !ok {
			seen[gr] = path
		}
	}
}

func validateProvider(e *errs, path string, p ProviderConfiguration, kmsNames map[string]bool) {
	n := 0
	for _, set := range []bool{p.AESGCM != nil, p.AESCBC != nil, p.Secretbox != nil, p.Identity != nil, p.KMS != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		e.add(path, "names no provider: give one of aescbc, aesgcm, secretbox, identity, kms")
		return
	case n > 1:
		e.add(path, "names more than one provider: give each its own item of the list")
		return
	}
	switch {
	case p.AESGCM != nil:
		validateKeys(e, path+".aesgcm.keys", "aesgcm", p.AESGCM.Keys, aesKeySizes)
	case p.AESCBC != nil:
		validateKeys(e, path+".aescbc.keys", "aescbc", p.AESCBC.Keys, aesKeySizes)
	case p.Secretbox != nil:
		validateKeys(e, path+".secretbox.keys", "secretbox", p.Secretbox.Keys, secretboxKeySizes)
	case p.KMS != nil:
		validateKMS(e, path+".kms", p.KMS, kmsNames)
	}
}

func validateKeys(e *errs, path, provider string, keys []Key, sizes []int) {
	if len(keys) == 0 {
		e.add(path, "at least one key is required")
		return
	}
	names := map[string]bool{}
	for i, k := range keys {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case k.Name == "":
			e.add(p+".name", "a key needs a name")
		case names[k.Name]:
			e.add(p+".name", "%q names two keys", k.Name)
		}
		names[k.Name] = true
		if k.Secret == "" {
			e.add(p+".secret", "a key needs a secret")
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			e.add(p+".secret", "the secret must be base64 (standard encoding)")
			continue
		}
		if !slices.Contains(sizes, len(secret)) {
			e.add(p+".secret", "the secret is %d bytes; %s keys are %s bytes", len(secret), provider, sizesText(sizes))
		}
	}
}

func sizesText(sizes []int) string {
	s := make([]string, len(sizes))
	for i, n := range sizes {
		s[i] = fmt.Sprint(n)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

func validateKMS(e *errs, path string, k *KMSConfiguration, names map[string]bool) {
	switch {
	case k.Name == "":
		e.add(path+".name", "a KMS provider needs a name")
	case strings.Contains(k.Name, ":"):
		e.add(path+".name", "%q: a KMS v2 provider's name must not contain ':'", k.Name)
	case names[k.Name]:
		e.add(path+".name", "%q names two KMS providers; names are unique", k.Name)
	}
	names[k.Name] = true
	switch k.APIVersion {
	case "v2":
	case "v1":
		e.add(path+".apiVersion", "KMS v1 (the default when apiVersion is unset) is not supported; set apiVersion: v2")
	default:
		e.add(path+".apiVersion", "%q is not supported; set apiVersion: v2", k.APIVersion)
	}
	if k.CacheSize != nil {
		e.add(path+".cachesize", "cachesize is a KMS v1 setting; KMS v2 has none")
	}
	if k.Timeout != nil && k.Timeout.Duration <= 0 {
		e.add(path+".timeout", "%s: the timeout must be positive", k.Timeout.Duration)
	}
	if _, err := socketPath(k.Endpoint); err != nil {
		e.add(path+".endpoint", "%v", err)
	}
}

// socketPath is the unix socket of an endpoint: unix:///path, or
// unix:///@name for an abstract socket ("@name").
func socketPath(endpoint string) (string, error) {
	if endpoint == "" {
		return "", errors.New("a KMS provider needs an endpoint (unix:///path/to/socket)")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %v", endpoint, err)
	}
	if u.Scheme != "unix" {
		return "", fmt.Errorf("%q: the scheme must be unix, not %q", endpoint, u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		return "", fmt.Errorf("%q names no socket", endpoint)
	}
	if strings.HasPrefix(u.Path, "/@") {
		return u.Path[1:], nil
	}
	return u.Path, nil
}
