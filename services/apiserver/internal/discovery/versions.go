package discovery

import (
	"regexp"
	"strconv"
)

var kubeVersion = regexp.MustCompile(`^v(\d+)(?:(alpha|beta)(\d+))?$`)

// versionLess orders a group's versions as Kubernetes prefers them: GA
// before beta before alpha, a higher number first within each, and
// versions of other shapes last, alphabetically.
func versionLess(a, b string) bool {
	ra, rb := versionRank(a), versionRank(b)
	if ra.kube != rb.kube {
		return ra.kube
	}
	if !ra.kube {
		return a < b
	}
	if ra.stability != rb.stability {
		return ra.stability > rb.stability
	}
	if ra.major != rb.major {
		return ra.major > rb.major
	}
	return ra.minor > rb.minor
}

type rank struct {
	kube         bool
	stability    int // GA 2, beta 1, alpha 0
	major, minor int
}

func versionRank(v string) rank {
	m := kubeVersion.FindStringSubmatch(v)
	if m == nil {
		return rank{}
	}
	r := rank{kube: true, stability: 2}
	r.major, _ = strconv.Atoi(m[1])
	switch m[2] {
	case "beta":
		r.stability = 1
	case "alpha":
		r.stability = 0
	}
	if m[3] != "" {
		r.minor, _ = strconv.Atoi(m[3])
	}
	return r
}
