package messages

import (
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Sessions at 10:00 either side of the clock change (Sunday 31 October
// 2021) say 10:00 in both languages, although they are 09:00 and 10:00 UTC.
func TestDatesAcrossTheClockChange(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	cases := []struct {
		utc    time.Time
		cy, en string
	}{
		{time.Date(2021, 10, 26, 9, 0, 0, 0, time.UTC), "Dydd Mawrth 26 Hydref 2021 am 10:00", "Tuesday 26 October 2021 at 10:00"},  // BST
		{time.Date(2021, 11, 2, 10, 0, 0, 0, time.UTC), "Dydd Mawrth 2 Tachwedd 2021 am 10:00", "Tuesday 2 November 2021 at 10:00"}, // GMT
		{time.Date(2021, 10, 30, 23, 30, 0, 0, time.UTC), "Dydd Sul 31 Hydref 2021 am 00:30", "Sunday 31 October 2021 at 00:30"},    // BST, the local day after the UTC one
		{time.Date(2021, 10, 31, 1, 30, 0, 0, time.UTC), "Dydd Sul 31 Hydref 2021 am 01:30", "Sunday 31 October 2021 at 01:30"},     // GMT, just after the change
	}
	for _, tc := range cases {
		if got := formatDateTime(tc.utc, loc, store.LanguageWelsh); got != tc.cy {
			t.Errorf("Welsh %v = %q, want %q", tc.utc, got, tc.cy)
		}
		if got := formatDateTime(tc.utc, loc, store.LanguageEnglish); got != tc.en {
			t.Errorf("English %v = %q, want %q", tc.utc, got, tc.en)
		}
	}
}

// The same, through a real message, bilingual.
func TestSessionReminderAcrossTheClockChange(t *testing.T) {
	c := catalogue(t)
	for _, tc := range []struct {
		start  time.Time
		cy, en string
	}{
		{time.Date(2021, 10, 26, 9, 0, 0, 0, time.UTC), "Pryd: Dydd Mawrth 26 Hydref 2021 am 10:00 tan 13:00", "When: Tuesday 26 October 2021 at 10:00 until 13:00"},
		{time.Date(2021, 11, 2, 10, 0, 0, 0, time.UTC), "Pryd: Dydd Mawrth 2 Tachwedd 2021 am 10:00 tan 13:00", "When: Tuesday 2 November 2021 at 10:00 until 13:00"},
	} {
		d := Data{ItemID: "procurement-lab/1", ItemStartsAt: tc.start, ItemEndsAt: tc.start.Add(3 * time.Hour)}
		r, err := c.Render("session-reminder-week", store.LanguageUnknown, d)
		if err != nil {
			t.Fatal(err)
		}
		if i, j := strings.Index(r.Text, tc.cy), strings.Index(r.Text, tc.en); i < 0 || j < i {
			t.Errorf("want %q then %q in:\n%s", tc.cy, tc.en, r.Text)
		}
	}
}

func TestWelshNamesOfEveryDayAndMonth(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	days := map[string]string{
		"2021-10-04": "Dydd Llun 4 Hydref 2021", "2021-10-05": "Dydd Mawrth 5 Hydref 2021",
		"2021-10-06": "Dydd Mercher 6 Hydref 2021", "2021-10-07": "Dydd Iau 7 Hydref 2021",
		"2021-10-08": "Dydd Gwener 8 Hydref 2021", "2021-10-09": "Dydd Sadwrn 9 Hydref 2021",
		"2021-10-10": "Dydd Sul 10 Hydref 2021",
	}
	months := []string{"Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"}
	for s, want := range days {
		d, _ := time.ParseInLocation("2006-01-02", s, loc)
		if got := formatDate(d, loc, store.LanguageWelsh); got != want {
			t.Errorf("%s = %q, want %q", s, got, want)
		}
	}
	for i, want := range months {
		d := time.Date(2022, time.Month(i+1), 15, 12, 0, 0, 0, loc)
		if got := formatDate(d, loc, store.LanguageWelsh); !strings.Contains(got, " 15 "+want+" 2022") {
			t.Errorf("month %d = %q, want %s", i+1, got, want)
		}
	}
	if got := formatDate(time.Time{}, loc, store.LanguageWelsh); got != "" {
		t.Errorf("zero time = %q, want empty", got)
	}
}

func TestEndOnAnotherDayIsWrittenInFull(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	start := time.Date(2021, 10, 5, 16, 0, 0, 0, loc)
	if got := formatEnd(start, start.Add(2*time.Hour), loc, store.LanguageEnglish); got != "18:00" {
		t.Errorf("same day = %q", got)
	}
	if got := formatEnd(start, start.Add(24*time.Hour), loc, store.LanguageWelsh); got != "Dydd Mercher 6 Hydref 2021 am 16:00" {
		t.Errorf("next day = %q", got)
	}
}
