package encryption

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const header = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"

func TestParse(t *testing.T) {
	yamlConfig := header + `resources:
- resources: [secrets, configmaps]
  providers:
  - kms:
      apiVersion: v2
      name: vault
      endpoint: unix:///var/run/kms.sock
  - aescbc:
      keys:
      - {name: key1, secret: ` + key32 + `}
  - identity: {}
`
	c, err := Parse([]byte(yamlConfig))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Resources[0].Providers[0].KMS.Timeout.Duration; got != 3*time.Second {
		t.Errorf("default timeout %s, want 3s", got)
	}
	jsonConfig := `{"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
	  "resources": [{"resources": ["secrets"], "providers": [{"aesgcm": {"keys": [{"name": "k", "secret": "` + key16 + `"}]}}]}]}`
	if _, err := Parse([]byte(jsonConfig)); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	path := filepath.Join(t.TempDir(), "enc.yaml")
	if err := os.WriteFile(path, []byte(yamlConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path + ".missing"); err == nil || !strings.HasPrefix(err.Error(), "encryption provider configuration: open ") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestValidation(t *testing.T) {
	aescbc := func(keys string) string {
		return header + "resources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys: " + keys + "\n"
	}
	list := func(resources, providers string) string {
		return header + "resources:\n- resources: " + resources + "\n  providers: " + providers + "\n"
	}
	kms := func(fields string) string {
		return list("[secrets]", "[{kms: {"+fields+"}}]")
	}
	const good = "[{identity: {}}]"
	for _, tc := range []struct{ name, config, want string }{
		{"empty", "  \n", "the file is empty"},
		{"kind", "apiVersion: v1\nkind: ConfigMap\n",
			`apiVersion "v1", kind "ConfigMap": want apiVersion apiserver.config.k8s.io/v1, kind EncryptionConfiguration`},
		{"unknown field", header + "resources: []\nextra: 1\n", `error unmarshaling JSON: while decoding JSON: json: unknown field "extra"`},
		{"identity has no keys", list("[secrets]", "[{identity: {keys: []}}]"),
			`error unmarshaling JSON: while decoding JSON: json: unknown field "keys"`},
		{"no resources", header + "resources: []\n", "resources: at least one resource list is required"},
		{"empty resource list", list("[]", good), "resources[0].resources: at least one resource is required"},
		{"no providers", list("[secrets]", "[]"), "resources[0].providers: at least one provider is required"},
		{"capital", list("[Secrets]", good), `resources[0].resources[0]: "Secrets": resource names are lowercase`},
		{"star", list("['*']", good),
			`resources[0].resources[0]: "*": write "*." for every resource of the core group or "*.*" for every resource`},
		{"no REST", list("[serviceipallocations]", good),
			`resources[0].resources[0]: "serviceipallocations" has no REST API and cannot be encrypted`},
		{"events.k8s.io", list("[events.events.k8s.io]", good),
			`resources[0].resources[0]: "events.events.k8s.io": events.k8s.io Events are stored as core Events; write "events"`},
		{"extensions", list("[deployments.extensions]", good),
			`resources[0].resources[0]: "deployments.extensions": the extensions group is gone and cannot be encrypted`},
		{"across groups", list("['secrets.*']", good),
			`resources[0].resources[0]: "secrets.*": a resource cannot be encrypted across groups; name its group`},
		{"twice", list("[secrets, secrets]", good), `resources[0].resources: "secrets" is listed twice`},
		{"overlap", list("[secrets, '*.']", good),
			`resources[0].resources: "secrets" and "*." overlap: the wildcard masks the other in the same list`},
		{"masked", header + "resources:\n- resources: ['*.apps']\n  providers: " + good + "\n- resources: [deployments.apps]\n  providers: " + good + "\n",
			`resources[1].resources: "deployments.apps" is masked by "*.apps" of resources[0].resources`},
		{"masked by *.*", header + "resources:\n- resources: ['*.*']\n  providers: " + good + "\n- resources: [secrets]\n  providers: " + good + "\n",
			`resources[1].resources: "secrets" is masked by "*.*" of resources[0].resources`},
		{"no provider", list("[secrets]", "[{}]"),
			"resources[0].providers[0]: names no provider: give one of aescbc, aesgcm, secretbox, identity, kms"},
		{"two providers", list("[secrets]", "[{identity: {}, aescbc: {keys: [{name: k, secret: "+key16+"}]}}]"),
			"resources[0].providers[0]: names more than one provider: give each its own item of the list"},
		{"no keys", aescbc("[]"), "resources[0].providers[0].aescbc.keys: at least one key is required"},
		{"no key name", aescbc("[{secret: " + key16 + "}]"), "resources[0].providers[0].aescbc.keys[0].name: a key needs a name"},
		{"duplicate key name", aescbc("[{name: a, secret: " + key16 + "}, {name: a, secret: " + key32 + "}]"),
			`resources[0].providers[0].aescbc.keys[1].name: "a" names two keys`},
		{"no secret", aescbc("[{name: a}]"), "resources[0].providers[0].aescbc.keys[0].secret: a key needs a secret"},
		{"not base64", aescbc("[{name: a, secret: 'not base64!'}]"),
			"resources[0].providers[0].aescbc.keys[0].secret: the secret must be base64 (standard encoding)"},
		{"aes size", aescbc("[{name: a, secret: c2hvcnQ=}]"),
			"resources[0].providers[0].aescbc.keys[0].secret: the secret is 5 bytes; aescbc keys are 16, 24 or 32 bytes"},
		{"aesgcm size", list("[secrets]", "[{aesgcm: {keys: [{name: a, secret: c2hvcnQ=}]}}]"),
			"resources[0].providers[0].aesgcm.keys[0].secret: the secret is 5 bytes; aesgcm keys are 16, 24 or 32 bytes"},
		{"secretbox size", list("[secrets]", "[{secretbox: {keys: [{name: a, secret: "+key16+"}]}}]"),
			"resources[0].providers[0].secretbox.keys[0].secret: the secret is 16 bytes; secretbox keys are 32 bytes"},
		{"kms v1", kms("name: a, endpoint: 'unix:///s'"),
			"resources[0].providers[0].kms.apiVersion: KMS v1 (the default when apiVersion is unset) is not supported; set apiVersion: v2"},
		{"kms v3", kms("apiVersion: v3, name: a, endpoint: 'unix:///s'"),
			`resources[0].providers[0].kms.apiVersion: "v3" is not supported; set apiVersion: v2`},
		{"kms no name", kms("apiVersion: v2, endpoint: 'unix:///s'"), "resources[0].providers[0].kms.name: a KMS provider needs a name"},
		{"kms colon", kms("apiVersion: v2, name: 'a:b', endpoint: 'unix:///s'"),
			`resources[0].providers[0].kms.name: "a:b": a KMS v2 provider's name must not contain ':'`},
		{"kms duplicate", list("[secrets]", "[{kms: {apiVersion: v2, name: a, endpoint: 'unix:///s'}}, {kms: {apiVersion: v2, name: a, endpoint: 'unix:///t'}}]"),
			`resources[0].providers[1].kms.name: "a" names two KMS providers; names are unique`},
		{"kms cachesize", kms("apiVersion: v2, name: a, endpoint: 'unix:///s', cachesize: 10"),
			"resources[0].providers[0].kms.cachesize: cachesize is a KMS v1 setting; KMS v2 has none"},
		{"kms timeout", kms("apiVersion: v2, name: a, endpoint: 'unix:///s', timeout: 0s"),
			"resources[0].providers[0].kms.timeout: 0s: the timeout must be positive"},
		{"kms bad timeout", kms("apiVersion: v2, name: a, endpoint: 'unix:///s', timeout: soon"),
			`error unmarshaling JSON: while decoding JSON: time: invalid duration "soon"`},
		{"kms no endpoint", kms("apiVersion: v2, name: a"),
			"resources[0].providers[0].kms.endpoint: a KMS provider needs an endpoint (unix:///path/to/socket)"},
		{"kms tcp", kms("apiVersion: v2, name: a, endpoint: 'tcp://127.0.0.1:80'"),
			`resources[0].providers[0].kms.endpoint: "tcp://127.0.0.1:80": the scheme must be unix, not "tcp"`},
		{"kms no socket", kms("apiVersion: v2, name: a, endpoint: 'unix://'"),
			`resources[0].providers[0].kms.endpoint: "unix://" names no socket`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.config))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// Every error of a configuration is reported, one a line.
func TestValidationReportsAll(t *testing.T) {
	_, err := Parse([]byte(header + "resources:\n- resources: [Secrets]\n  providers: [{aescbc: {keys: []}}]\n"))
	want := `resources[0].resources[0]: "Secrets": resource names are lowercase` + "\n" +
		"resources[0].providers[0].aescbc.keys: at least one key is required"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}
