package fieldmanager

import (
	"reflect"
)

// IgnoreTimestampOnlyChanges gives obj's managedFields entries live's
// times back when they and the rest of obj equal live's but for those
// times, so a write that ends up changing nothing (its change was reset
// by the strategy, say) changes nothing in storage either and keeps its
// resourceVersion. Kubernetes' registry does this after the strategy has
// prepared the update; callers do the same. obj is changed in place and
// returned; a different number of entries, or none, leaves it as it is.
func IgnoreTimestampOnlyChanges(live, obj map[string]any) map[string]any {
	if live == nil || obj == nil {
		return obj
	}
	oldEntries, oldOK := entryList(live)
	newEntries, newOK := entryList(obj)
	if !oldOK || !newOK || len(oldEntries) != len(newEntries) || len(newEntries) == 0 {
		return obj
	}
	changed := false
	for i := range newEntries {
		if !reflect.DeepEqual(newEntries[i]["time"], oldEntries[i]["time"]) {
			changed = true
		}
		if !reflect.DeepEqual(withoutTime(newEntries[i]), withoutTime(oldEntries[i])) {
			return obj
		}
	}
	if !changed || !reflect.DeepEqual(withoutManagedFields(live), withoutManagedFields(obj)) {
		return obj
	}
	list := make([]any, len(newEntries))
	for i, e := range newEntries {
		e = withoutTime(e)
		if t, ok := oldEntries[i]["time"]; ok {
			e["time"] = t
		}
		list[i] = e
	}
	obj["metadata"].(map[string]any)["managedFields"] = list
	return obj
}

// entryList is metadata.managedFields as a list of entry maps; false when
// it is not one.
func entryList(obj map[string]any) ([]map[string]any, bool) {
	meta, _ := obj["metadata"].(map[string]any)
	list, ok := meta["managedFields"].([]any)
	if !ok {
		return nil, meta["managedFields"] == nil
	}
	entries := make([]map[string]any, len(list))
	for i, e := range list {
		if entries[i], ok = e.(map[string]any); !ok {
			return nil, false
		}
	}
	return entries, true
}

func withoutTime(entry map[string]any) map[string]any {
	out := make(map[string]any, len(entry))
	for k, v := range entry {
		if k != "time" {
			out[k] = v
		}
	}
	return out
}

// withoutManagedFields is a shallow copy of obj without
// metadata.managedFields.
func withoutManagedFields(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	if meta, ok := obj["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(meta))
		for k, v := range meta {
			if k != "managedFields" {
				m[k] = v
			}
		}
		out["metadata"] = m
	}
	return out
}
