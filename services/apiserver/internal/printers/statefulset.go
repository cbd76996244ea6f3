package printers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/pkg/volumeclass"
)

func init() {
	register("apps", "StatefulSet", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Ready", "string", "Number of the pod with ready state"),
			ageCol(),
			wide(col("Containers", "string", "Names of each container in the template.")),
			wide(col("Images", "string", "Images referenced by each container in the template.")),
		},
		Cells: typed(func(s *appsv1.StatefulSet, now time.Time) []any {
			names, images := containers(s.GetSpec().GetTemplate())
			return []any{s.GetMetadata().GetName(), fmt.Sprintf("%d/%d", s.GetStatus().GetReadyReplicas(), s.GetSpec().GetReplicas()),
				Age(s.GetMetadata(), now), names, images}
		}),
	})
	register("", "PersistentVolumeClaim", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
			col("Volume", "string", "volumeName is the binding reference to the PersistentVolume backing this claim."),
			col("Capacity", "string", "capacity represents the actual resources of the underlying volume."),
			col("Access Modes", "string", "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"),
			col("StorageClass", "string", "StorageClass of the pvc"),
			col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
			ageCol(),
			wide(col("VolumeMode", "string", "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.")),
		},
		Cells: typed(claimCells),
	})
}

// claimCells: capacity and access modes are the bound volume's, empty
// until the claim is bound; Terminating while it is being deleted.
func claimCells(c *corev1.PersistentVolumeClaim, now time.Time) []any {
	sp, st := c.GetSpec(), c.GetStatus()
	phase := st.GetPhase()
	if c.GetMetadata().GetDeletionTimestamp() != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if sp.GetVolumeName() != "" {
		capacity = quantityString(st.GetCapacity()["storage"])
		modes = accessModes(st.GetAccessModes())
	}
	vac, mode := "<unset>", "<unset>"
	if sp.VolumeAttributesClassName != nil {
		vac = sp.GetVolumeAttributesClassName()
	}
	if sp.VolumeMode != nil {
		mode = sp.GetVolumeMode()
	}
	class := volumeclass.Claim(c)
	return []any{c.GetMetadata().GetName(), phase, sp.GetVolumeName(), capacity, modes, class, vac, Age(c.GetMetadata(), now), mode}
}

// accessModes abbreviates access modes as kubectl shows them, in a fixed
// order: RWO,ROX,RWX,RWOP.
func accessModes(modes []string) string {
	var out []string
	for _, m := range []struct{ mode, short string }{{"ReadWriteOnce", "RWO"}, {"ReadOnlyMany", "ROX"}, {"ReadWriteMany", "RWX"}, {"ReadWriteOncePod", "RWOP"}} {
		if slices.Contains(modes, m.mode) {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}
