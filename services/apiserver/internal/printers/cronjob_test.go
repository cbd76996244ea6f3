package printers

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	batchv1 "skiff.dev/api/batch/v1"
	corev1 "skiff.dev/api/core/v1"
)

func TestCronJobColumns(t *testing.T) {
	p := For("batch", "CronJob")
	var names []string
	for _, c := range p.Columns {
		names = append(names, c.GetName())
	}
	want := []string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images", "Selector"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	cj := &batchv1.CronJob{Metadata: meta("backup"),
		Spec: &batchv1.CronJobSpec{Schedule: "@hourly", Suspend: proto.Bool(false), TimeZone: proto.String("Europe/Berlin"),
			JobTemplate: &batchv1.JobTemplateSpec{Spec: &batchv1.JobSpec{Template: &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{
				Containers: []*corev1.Container{{Name: "a", Image: "busybox"}, {Name: "b", Image: "alpine"}}}}}}},
		Status: &batchv1.CronJobStatus{Active: []*corev1.ObjectReference{{Name: "backup-1"}},
			LastScheduleTime: timestamppb.New(now.Add(-90 * time.Second))}}
	got := p.Cells(cj, now)
	wantCells := []any{"backup", "@hourly", "Europe/Berlin", "False", int64(1), "90s", "5m", "a,b", "busybox,alpine", "<none>"}
	if !reflect.DeepEqual(got, wantCells) {
		t.Errorf("cells %v, want %v", got, wantCells)
	}
	got = p.Cells(&batchv1.CronJob{Metadata: meta("new")}, now)
	if got[2] != "<none>" || got[3] != "<unset>" || got[5] != "<none>" {
		t.Errorf("a bare CronJob: timezone %v, suspend %v, last schedule %v; want <none>, <unset>, <none>", got[2], got[3], got[5])
	}
}
