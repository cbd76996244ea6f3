package printers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func init() {
	// Kubernetes has no printer of LimitRanges: its default table.
	register("", "LimitRange", createdAtPrinter)
	register("", "ResourceQuota", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
			col("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
			ageCol(),
		},
		Cells: typed(quotaCells),
	})
}

// quotaCells: each enforced resource as "name: used/hard", by name, the
// limits.* ones in the Limit column and the others in Request.
func quotaCells(q *corev1.ResourceQuota, now time.Time) []any {
	hard, used := q.GetStatus().GetHard(), q.GetStatus().GetUsed()
	var request, limit []string
	for _, name := range slices.Sorted(maps.Keys(hard)) {
		cell := fmt.Sprintf("%s: %s/%s", name, quantityString(used[name]), quantityString(hard[name]))
		if prefix, _, ok := strings.Cut(name, "."); ok && prefix == "limits" {
			limit = append(limit, cell)
		} else {
			request = append(request, cell)
		}
	}
	return []any{q.GetMetadata().GetName(), strings.Join(request, ", "), strings.Join(limit, ", "), Age(q.GetMetadata(), now)}
}

// quantityString prints a quantity in canonical form; a missing one is 0.
func quantityString(q *metav1.Quantity) string {
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		if q.GetString_() != "" {
			return q.GetString_()
		}
		return "0"
	}
	return v.String()
}
