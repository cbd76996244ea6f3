package fieldmanager

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// maxUpdateManagers is how many Update entries an object keeps, as
// Kubernetes' DefaultMaxUpdateManagers.
const maxUpdateManagers = 10

// ancientChanges is the manager the oldest Update entries are merged into.
const ancientChanges = "ancient-changes"

// capUpdateManagers merges the oldest Update entries, per apiVersion, into
// an "ancient-changes" entry until no more than limit remain. The first
// old entry of an apiVersion becomes the bucket when a second one of that
// apiVersion is merged; the bucket takes the time of the newest entry
// merged into it. Apply entries are never merged.
func capUpdateManagers(mf managed, limit int) {
	var updaters []string
	for id, vs := range mf.fields {
		if !vs.Applied() {
			updaters = append(updaters, id)
		}
	}
	if len(updaters) <= limit {
		return
	}
	sort.Slice(updaters, func(i, j int) bool {
		ti, tj := unixOf(mf.times[updaters[i]]), unixOf(mf.times[updaters[j]])
		if ti != tj {
			return ti < tj
		}
		return updaters[i] < updaters[j]
	})

	firstOfVersion := map[fieldpath.APIVersion]string{}
	remaining := len(updaters)
	for _, id := range updaters {
		if remaining <= limit {
			break
		}
		vs := mf.fields[id]
		version := vs.APIVersion()
		first, seen := firstOfVersion[version]
		if !seen {
			firstOfVersion[version] = id
			continue
		}
		bucket := managerID(ancientChanges, metav1.ManagedFieldsOperationUpdate, string(version), "")
		if _, ok := mf.fields[bucket]; !ok {
			mf.fields[bucket] = mf.fields[first]
			delete(mf.fields, first)
		}
		mf.fields[bucket] = fieldpath.NewVersionedSet(vs.Set().Union(mf.fields[bucket].Set()), version, vs.Applied())
		mf.times[bucket] = mf.times[id]
		delete(mf.fields, id)
		remaining--
	}
}
