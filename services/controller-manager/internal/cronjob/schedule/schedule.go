// Package schedule is the time arithmetic of CronJobs, as Kubernetes' cronjob
// controller does it: a schedule is parsed with robfig/cron's standard
// five-field parser and its descriptors (@hourly, @every 1h30m, ...) in the
// CronJob's time zone; the run due now is the most recent schedule time not
// yet started since the last one (or the CronJob's creation), never earlier
// than startingDeadlineSeconds ago; more than 100 runs missed is reported
// instead of listed, and the next look is just after the next schedule time.
//
// Everything here is a pure function of its inputs and the time passed in, so
// tests drive it with a fake clock.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// tooManyMissed is how many missed start times are still started one by one;
// more than that is taken for a clock gone wrong and reported.
const tooManyMissed = 100

// RequeueDelta is added to the next schedule time before looking again, so a
// look is never a moment early because of clock skew.
const RequeueDelta = 100 * time.Millisecond

// Parse parses a CronJob's schedule in timeZone (UTC when nil). A schedule that
// names its own zone with TZ= or CRON_TZ= is taken as written, as Kubernetes
// does for old objects; the apiserver refuses such new schedules.
func Parse(spec string, timeZone *string) (cron.Schedule, error) {
	if timeZone != nil && !strings.Contains(spec, "TZ") {
		if _, err := LoadLocation(*timeZone); err != nil {
			return nil, err
		}
		spec = fmt.Sprintf("TZ=%s %s", *timeZone, spec)
	}
	return cron.ParseStandard(spec)
}

// HasTimeZonePrefix tells whether a schedule names a zone itself (TZ= or
// CRON_TZ=), which Kubernetes refuses in favour of spec.timeZone.
func HasTimeZonePrefix(spec string) bool { return strings.Contains(spec, "TZ") }

// LoadLocation loads an IANA time zone. "Local" and "" are refused: a CronJob
// must not depend on the zone of whichever machine runs the controller.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "Local") {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return time.LoadLocation(name)
}

// Missed says how many start times passed unstarted.
type Missed int

const (
	// NoneMissed: no schedule time passed since the earliest time.
	NoneMissed Missed = iota
	// FewMissed: at least one, at most 100.
	FewMissed
	// ManyMissed: more than 100, likely a clock gone wrong.
	ManyMissed
)

func (m Missed) String() string {
	switch m {
	case NoneMissed:
		return "none"
	case FewMissed:
		return "few"
	case ManyMissed:
		return "many"
	}
	return fmt.Sprintf("unknown(%d)", int(m))
}

// History is what a CronJob tells of its past runs.
type History struct {
	// Created is the CronJob's creationTimestamp.
	Created time.Time
	// LastScheduled is status.lastScheduleTime, nil before the first run.
	LastScheduled *time.Time
	// StartingDeadlineSeconds is spec.startingDeadlineSeconds.
	StartingDeadlineSeconds *int64
}

// ErrImpossible is returned for a schedule that parses but never or hardly
// ever fires sensibly (the 31st of February), whose next two times are less
// than a second apart.
var ErrImpossible = errors.New("time difference between two schedules is less than 1 second")

// MostRecent returns the earliest time looked from (the last schedule time or
// the creation time, moved up to the starting deadline when withDeadline), the
// most recent schedule time after it that is not after now (nil when there is
// none), and how many were missed.
func MostRecent(h History, now time.Time, s cron.Schedule, withDeadline bool) (time.Time, *time.Time, Missed, error) {
	earliest := h.Created
	if h.LastScheduled != nil {
		earliest = *h.LastScheduled
	}
	if withDeadline && h.StartingDeadlineSeconds != nil {
		deadline := now.Add(-time.Duration(*h.StartingDeadlineSeconds) * time.Second)
		if deadline.After(earliest) {
			earliest = deadline
		}
	}
	t1 := s.Next(earliest)
	t2 := s.Next(t1)
	if now.Before(t1) {
		return earliest, nil, NoneMissed, nil
	}
	if now.Before(t2) {
		return earliest, &t1, NoneMissed, nil
	}
	period := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if period < 1 {
		return earliest, nil, NoneMissed, ErrImpossible
	}
	// Count the periods that fit between t1 and now, then walk the schedule
	// from one period before the estimate so irregular schedules
	// (30 6-16/4 * * 1-5) and @every both land on the right time.
	missed := int64(now.Sub(t1).Seconds())/period + 1
	var recent time.Time
	from := t1.Add(time.Duration((missed-2)*period) * time.Second)
	for t := s.Next(from); !t.After(now); t = s.Next(t) {
		recent = t
	}
	kind := FewMissed
	if missed > tooManyMissed {
		kind = ManyMissed
	}
	if recent.IsZero() {
		return earliest, nil, kind, nil
	}
	return earliest, &recent, kind, nil
}

// Due returns the schedule time a run should start for now, or nil when none
// is due, honouring the starting deadline. Missed is ManyMissed when more than
// 100 start times passed, which the caller reports.
func Due(h History, now time.Time, s cron.Schedule) (*time.Time, Missed, error) {
	_, recent, missed, err := MostRecent(h, now, s, true)
	if recent == nil || recent.After(now) {
		return nil, missed, err
	}
	return recent, missed, err
}

// TooLate tells whether a run scheduled at t may no longer start at now.
func TooLate(h History, t, now time.Time) bool {
	if h.StartingDeadlineSeconds == nil {
		return false
	}
	return t.Add(time.Duration(*h.StartingDeadlineSeconds) * time.Second).Before(now)
}

// Requeue returns how long from now to look at the CronJob again: just after
// the next schedule time following the last one handled (or now, when times
// were missed or the schedule is impossible).
func Requeue(h History, now time.Time, s cron.Schedule) time.Duration {
	earliest, recent, missed, err := MostRecent(h, now, s, false)
	from := now
	switch {
	case err != nil:
	case recent != nil:
		from = *recent
	case missed == NoneMissed:
		from = earliest
	}
	return s.Next(from).Add(RequeueDelta).Sub(now)
}

// JobName is the name of the Job for the run scheduled at t: the CronJob's
// name and t in minutes since the epoch, so every controller instance names a
// run alike and a run is never created twice.
func JobName(cronJob string, t time.Time) string {
	return fmt.Sprintf("%s-%d", cronJob, t.Unix()/60)
}
