package schedule

import (
	"errors"
	"testing"
	"time"

	"skiff.dev/pkg/clock"
)

func ptr[T any](v T) *T { return &v }

// topOfHour is a Monday, 10:00 UTC.
var topOfHour = time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, spec string, tz *string) interface{ Next(time.Time) time.Time } {
	t.Helper()
	s, err := Parse(spec, tz)
	if err != nil {
		t.Fatalf("Parse(%q): %v", spec, err)
	}
	return s
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		tz      *string
		from    time.Time
		want    time.Time
		wantErr bool
	}{
		{spec: "@hourly", from: topOfHour, want: topOfHour.Add(time.Hour)},
		{spec: "@daily", from: topOfHour, want: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
		{spec: "@weekly", from: topOfHour, want: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)},
		{spec: "@every 90m", from: topOfHour, want: topOfHour.Add(90 * time.Minute)},
		{spec: "*/5 * * * *", from: topOfHour.Add(time.Minute), want: topOfHour.Add(5 * time.Minute)},
		{spec: "30 6-16/4 * * 1-5", from: topOfHour, want: time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)},
		// 09:00 in New York is 14:00 UTC in March before daylight saving.
		{spec: "0 9 * * *", tz: ptr("America/New_York"), from: topOfHour, want: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)},
		// A zone in the schedule itself is taken as written (old objects).
		{spec: "CRON_TZ=Asia/Tokyo 0 20 * * *", from: topOfHour, want: time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)},
		{spec: "0 9 * * *", tz: ptr("Mars/Olympus"), wantErr: true},
		{spec: "0 9 * * *", tz: ptr("Local"), wantErr: true},
		{spec: "61 * * * *", wantErr: true},
		{spec: "* * * *", wantErr: true},
		{spec: "@fortnightly", wantErr: true},
		{spec: "* * * * * *", wantErr: true},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			s, err := Parse(tc.spec, tc.tz)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("got no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := s.Next(tc.from); !got.Equal(tc.want) {
				t.Errorf("Next(%v) = %v, want %v", tc.from, got, tc.want)
			}
		})
	}
}

func TestHasTimeZonePrefix(t *testing.T) {
	for spec, want := range map[string]bool{
		"TZ=UTC 0 * * * *":            true,
		"CRON_TZ=Europe/Paris @daily": true,
		"0 * * * *":                   false,
	} {
		if got := HasTimeZonePrefix(spec); got != want {
			t.Errorf("HasTimeZonePrefix(%q) = %v, want %v", spec, got, want)
		}
	}
}

func TestMostRecent(t *testing.T) {
	hourly := mustParse(t, "0 * * * *", nil)
	for _, tc := range []struct {
		name         string
		h            History
		step         time.Duration
		withDeadline bool
		wantRecent   *time.Time
		wantMissed   Missed
	}{
		{
			name: "before the first time",
			h:    History{Created: topOfHour.Add(-10 * time.Minute)},
			step: -time.Minute,
		},
		{
			name:       "the first time has come",
			h:          History{Created: topOfHour.Add(-10 * time.Minute)},
			step:       time.Second,
			wantRecent: ptr(topOfHour),
		},
		{
			name:       "last scheduled counts, not creation",
			h:          History{Created: topOfHour.Add(-10 * time.Hour), LastScheduled: ptr(topOfHour)},
			step:       time.Hour + time.Minute,
			wantRecent: ptr(topOfHour.Add(time.Hour)),
		},
		{
			name:       "a few missed: the most recent is due",
			h:          History{Created: topOfHour.Add(-10 * time.Minute)},
			step:       5*time.Hour + 30*time.Minute,
			wantRecent: ptr(topOfHour.Add(5 * time.Hour)),
			wantMissed: FewMissed,
		},
		{
			name:       "more than 100 missed",
			h:          History{Created: topOfHour.Add(-10 * time.Minute)},
			step:       200 * time.Hour,
			wantRecent: ptr(topOfHour.Add(200 * time.Hour)),
			wantMissed: ManyMissed,
		},
		{
			name:         "a starting deadline bounds how far back is looked",
			h:            History{Created: topOfHour.Add(-10 * time.Minute), StartingDeadlineSeconds: ptr(int64(200))},
			step:         200*time.Hour + time.Minute,
			withDeadline: true,
			wantRecent:   ptr(topOfHour.Add(200 * time.Hour)),
		},
		{
			name:         "the deadline passed: nothing is due",
			h:            History{Created: topOfHour.Add(-10 * time.Minute), StartingDeadlineSeconds: ptr(int64(60))},
			step:         200*time.Hour + 2*time.Minute,
			withDeadline: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clock.NewFake(topOfHour)
			c.Step(tc.step)
			_, got, missed, err := MostRecent(tc.h, c.Now(), hourly, tc.withDeadline)
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if (got == nil) != (tc.wantRecent == nil) || got != nil && !got.Equal(*tc.wantRecent) {
				t.Errorf("most recent = %v, want %v", got, tc.wantRecent)
			}
			if missed != tc.wantMissed {
				t.Errorf("missed = %v, want %v", missed, tc.wantMissed)
			}
		})
	}
}

func TestMostRecentIrregular(t *testing.T) {
	// Weekdays at 06:30, 10:30 and 14:30: from Friday 15:00 to Monday 09:00
	// the most recent start is Friday 14:30.
	s := mustParse(t, "30 6-16/4 * * 1-5", nil)
	friday := time.Date(2026, 3, 6, 6, 0, 0, 0, time.UTC)
	c := clock.NewFake(friday)
	c.Step(3*24*time.Hour + 3*time.Hour) // Monday 09:00
	_, got, missed, err := MostRecent(History{Created: friday}, c.Now(), s, false)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC)
	if got == nil || !got.Equal(want) {
		t.Errorf("most recent = %v, want %v", got, want)
	}
	if missed != FewMissed {
		t.Errorf("missed = %v, want few", missed)
	}
}

func TestMostRecentEvery(t *testing.T) {
	s := mustParse(t, "@every 1h30m", nil)
	c := clock.NewFake(topOfHour)
	c.Step(10*time.Hour + 10*time.Minute)
	_, got, _, err := MostRecent(History{Created: topOfHour}, c.Now(), s, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := topOfHour.Add(9 * time.Hour); got == nil || !got.Equal(want) {
		t.Errorf("most recent = %v, want %v", got, want)
	}
}

func TestMostRecentImpossible(t *testing.T) {
	s := mustParse(t, "59 23 31 2 *", nil)
	c := clock.NewFake(topOfHour)
	c.Step(24 * 365 * time.Hour)
	_, got, _, err := MostRecent(History{Created: topOfHour}, c.Now(), s, false)
	if !errors.Is(err, ErrImpossible) {
		t.Errorf("got error %v, want %v", err, ErrImpossible)
	}
	if got != nil {
		t.Errorf("most recent = %v, want none", got)
	}
}

func TestDue(t *testing.T) {
	every5 := mustParse(t, "*/5 * * * *", nil)
	h := History{Created: topOfHour.Add(-time.Minute)}
	c := clock.NewFake(topOfHour.Add(-30 * time.Second))
	if got, _, _ := Due(h, c.Now(), every5); got != nil {
		t.Errorf("due before the first time = %v, want none", got)
	}
	c.Step(time.Minute)
	got, _, _ := Due(h, c.Now(), every5)
	if got == nil || !got.Equal(topOfHour) {
		t.Fatalf("due = %v, want %v", got, topOfHour)
	}
	h.LastScheduled = got
	if got, _, _ := Due(h, c.Now(), every5); got != nil {
		t.Errorf("due after it ran = %v, want none", got)
	}
	c.Step(20 * time.Hour)
	if _, missed, _ := Due(h, c.Now(), every5); missed != ManyMissed {
		t.Errorf("missed after 20h of */5 = %v, want many", missed)
	}
	h.StartingDeadlineSeconds = ptr(int64(600))
	got, missed, _ := Due(h, c.Now(), every5)
	if want := topOfHour.Add(20 * time.Hour); got == nil || !got.Equal(want) || missed == ManyMissed {
		t.Errorf("due with a deadline = %v (%v missed), want %v and not many", got, missed, want)
	}
}

func TestTooLate(t *testing.T) {
	h := History{StartingDeadlineSeconds: ptr(int64(10))}
	if TooLate(h, topOfHour, topOfHour.Add(10*time.Second)) {
		t.Error("10s after with a 10s deadline: got too late, want in time")
	}
	if !TooLate(h, topOfHour, topOfHour.Add(11*time.Second)) {
		t.Error("11s after with a 10s deadline: got in time, want too late")
	}
	if TooLate(History{}, topOfHour, topOfHour.Add(1000*time.Hour)) {
		t.Error("no deadline: got too late, want in time")
	}
}

func TestRequeue(t *testing.T) {
	hourly := mustParse(t, "0 * * * *", nil)
	c := clock.NewFake(topOfHour.Add(10 * time.Minute))
	h := History{Created: topOfHour.Add(5 * time.Minute)}
	if got, want := Requeue(h, c.Now(), hourly), 50*time.Minute+RequeueDelta; got != want {
		t.Errorf("before the first run: requeue = %v, want %v", got, want)
	}
	c.Step(50 * time.Minute)
	h.LastScheduled = ptr(topOfHour.Add(time.Hour))
	if got, want := Requeue(h, c.Now(), hourly), time.Hour+RequeueDelta; got != want {
		t.Errorf("just after a run: requeue = %v, want %v", got, want)
	}
	// A due run that was not made yet: look again after the one that follows.
	c.Step(90 * time.Minute)
	if got, want := Requeue(h, c.Now(), hourly), 30*time.Minute+RequeueDelta; got != want {
		t.Errorf("with a run due: requeue = %v, want %v", got, want)
	}
}

func TestJobName(t *testing.T) {
	if got, want := JobName("backup", time.Unix(1700000040, 0)), "backup-28333334"; got != want {
		t.Errorf("JobName = %q, want %q", got, want)
	}
}
