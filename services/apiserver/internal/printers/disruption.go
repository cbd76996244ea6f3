package printers

import (
	"strconv"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	policyv1 "skiff.dev/api/policy/v1"
)

func init() {
	register("policy", "PodDisruptionBudget", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Min Available", "string", "The minimum number of pods that must be available."),
			col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
			col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
			ageCol(),
		},
		Cells: typed(func(pdb *policyv1.PodDisruptionBudget, now time.Time) []any {
			sp := pdb.GetSpec()
			return []any{pdb.GetMetadata().GetName(), intOrStringCell(sp.GetMinAvailable()), intOrStringCell(sp.GetMaxUnavailable()),
				int64(pdb.GetStatus().GetDisruptionsAllowed()), Age(pdb.GetMetadata(), now)}
		}),
	})
}

// intOrStringCell is an int-or-string as Kubernetes prints it, N/A when
// unset.
func intOrStringCell(v *metav1.IntOrString) string {
	switch {
	case v == nil:
		return "N/A"
	case v.GetType() == 1:
		return v.GetStrVal()
	}
	return strconv.Itoa(int(v.GetIntVal()))
}
