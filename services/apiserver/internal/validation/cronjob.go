package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	batchv1 "skiff.dev/api/batch/v1"
	"skiff.dev/services/apiserver/internal/field"
)

// cronJobNameMax is the longest CronJob name: its Jobs are named
// <name>-<minutes since the epoch> (11 more characters) and a Job's name is
// at most 63 characters.
const cronJobNameMax = 63 - 11

// ValidateCronJob checks what every write of a CronJob must hold: a schedule
// robfig/cron's standard parser accepts, a known concurrency policy,
// non-negative deadline and history limits, and a job template a Job could
// be made of.
func ValidateCronJob(cj *batchv1.CronJob) field.ErrorList {
	sp, p := specOf(cj), field.NewPath("spec")
	var errs field.ErrorList
	if sp.GetSchedule() == "" {
		errs = append(errs, field.Required(p.Child("schedule"), ""))
	} else if _, err := cron.ParseStandard(sp.GetSchedule()); err != nil {
		errs = append(errs, field.Invalid(p.Child("schedule"), sp.GetSchedule(), err.Error()))
	}
	if sp.StartingDeadlineSeconds != nil {
		errs = append(errs, nonNegative(sp.GetStartingDeadlineSeconds(), p.Child("startingDeadlineSeconds"))...)
	}
	switch cp := sp.GetConcurrencyPolicy(); cp {
	case "Allow", "Forbid", "Replace":
	case "":
		errs = append(errs, field.Required(p.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("concurrencyPolicy"), cp, []string{"Allow", "Forbid", "Replace"}))
	}
	errs = append(errs, validateCronJobTemplate(sp.GetJobTemplate(), p.Child("jobTemplate"))...)
	if sp.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(sp.GetSuccessfulJobsHistoryLimit()), p.Child("successfulJobsHistoryLimit"))...)
	}
	if sp.FailedJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(sp.GetFailedJobsHistoryLimit()), p.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// ValidateCronJobCreate adds what only a new CronJob must hold: a name its
// Jobs' names fit in, no TZ= or CRON_TZ= in the schedule (spec.timeZone says
// the zone), and a time zone that exists.
func ValidateCronJobCreate(cj *batchv1.CronJob) field.ErrorList {
	var errs field.ErrorList
	if name := cj.GetMetadata().GetName(); len(name) > cronJobNameMax {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), name, fmt.Sprintf("must be no more than %d characters", cronJobNameMax)))
	}
	errs = append(errs, scheduleZone(specOf(cj), false)...)
	return append(errs, validateTimeZone(specOf(cj).TimeZone, field.NewPath("spec", "timeZone"))...)
}

// ValidateCronJobUpdate lets a CronJob whose schedule already named a zone
// keep it (as long as spec.timeZone is not set too), and checks the time zone
// when it changes. Longer names of old objects stay allowed.
func ValidateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	errs := scheduleZone(specOf(cj), strings.Contains(old.GetSpec().GetSchedule(), "TZ"))
	if tz, oldTZ := specOf(cj).TimeZone, specOf(old).TimeZone; (tz == nil) != (oldTZ == nil) || tz != nil && *tz != *oldTZ {
		errs = append(errs, validateTimeZone(cj.GetSpec().TimeZone, field.NewPath("spec", "timeZone"))...)
	}
	return errs
}

// ValidateCronJobStatusUpdate checks nothing more: the controller writes the
// status.
func ValidateCronJobStatusUpdate(_, _ *batchv1.CronJob) field.ErrorList { return nil }

func specOf(cj *batchv1.CronJob) *batchv1.CronJobSpec {
	if cj.GetSpec() == nil {
		return &batchv1.CronJobSpec{}
	}
	return cj.GetSpec()
}

func scheduleZone(sp *batchv1.CronJobSpec, allowTZ bool) field.ErrorList {
	s, p := sp.GetSchedule(), field.NewPath("spec", "schedule")
	switch {
	case s == "":
		return nil
	case allowTZ && strings.Contains(s, "TZ") && sp.TimeZone != nil:
		return field.ErrorList{field.Invalid(p, s, "cannot use both timeZone field and TZ or CRON_TZ in schedule")}
	case !allowTZ && strings.Contains(s, "TZ"):
		return field.ErrorList{field.Invalid(p, s, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")}
	}
	return nil
}

// validTimeZonePart is one component of an IANA zone name; digits and '+'
// are tolerated for legacy names, as Kubernetes does.
var validTimeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, *tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(p, *tz, "unknown time zone "+*tz)}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(p, *tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, *tz, err.Error()))
	}
	return errs
}

// validateCronJobTemplate checks the Job a CronJob makes: its selector is
// generated, so none may be given; its numbers are not negative; its pods
// restart OnFailure or Never.
func validateCronJobTemplate(t *batchv1.JobTemplateSpec, p *field.Path) field.ErrorList {
	sp, sPath := t.GetSpec(), p.Child("spec")
	if sp == nil {
		sp = &batchv1.JobSpec{}
	}
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		v    *int32
	}{
		{"parallelism", sp.Parallelism}, {"completions", sp.Completions}, {"backoffLimit", sp.BackoffLimit},
		{"ttlSecondsAfterFinished", sp.TtlSecondsAfterFinished}, {"backoffLimitPerIndex", sp.BackoffLimitPerIndex},
		{"maxFailedIndexes", sp.MaxFailedIndexes},
	} {
		if f.v != nil {
			errs = append(errs, nonNegative(int64(*f.v), sPath.Child(f.name))...)
		}
	}
	if sp.ActiveDeadlineSeconds != nil {
		errs = append(errs, nonNegative(sp.GetActiveDeadlineSeconds(), sPath.Child("activeDeadlineSeconds"))...)
	}
	if sp.CompletionMode != nil {
		if m := sp.GetCompletionMode(); m != "NonIndexed" && m != "Indexed" {
			errs = append(errs, field.NotSupported(sPath.Child("completionMode"), m, []string{"NonIndexed", "Indexed"}))
		} else if m == "Indexed" && sp.Completions == nil {
			errs = append(errs, field.Required(sPath.Child("completions"), "when completion mode is Indexed"))
		}
	}
	tp := sPath.Child("template")
	errs = append(errs, ValidatePodTemplateSpec(sp.GetTemplate(), tp)...)
	switch rp := sp.GetTemplate().GetSpec().GetRestartPolicy(); rp {
	case "OnFailure", "Never":
	case "", "Always":
		errs = append(errs, field.Required(tp.Child("spec", "restartPolicy"), `valid values: "OnFailure", "Never"`))
	default:
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []string{"OnFailure", "Never"}))
	}
	if sp.GetSelector() != nil {
		errs = append(errs, field.Invalid(sPath.Child("selector"), selectorString(sp.GetSelector()), "`selector` will be auto-generated"))
	}
	if sp.GetManualSelector() {
		errs = append(errs, field.NotSupported(sPath.Child("manualSelector"), true, []string{"nil", "false"}))
	}
	return errs
}
