package commands

import (
	"github.com/infuse-cymru/journeys/internal/programme"
	"strings"
	"time"
)

// TimeFormats says, for error messages, which times ParseTime reads.
const TimeFormats = "a date such as 2027-01-04 (midnight), a time such as 2027-01-04T10:00 (Europe/London), or RFC 3339 such as 2027-01-04T10:00:00Z, in the years 2000 to 2199"

// A programme's dates are in these years; any other is a typo (and before
// 1848 London's clocks were not even Greenwich's).
const firstYear, lastYear = 2000, 2199

var londonLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// ParseTime reads a date or time as coordinators write them: RFC 3339, or a
// local date or time, which is Europe/London's. The command line, the API
// and the pages all read times with it, so all three take the same.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339, s)
	for _, layout := range londonLayouts {
		if err == nil {
			break
		}
		t, err = time.ParseInLocation(layout, s, programme.London)
	}
	if err != nil || t.Year() < firstYear || t.Year() > lastYear {
		return time.Time{}, false
	}
	return t, true
}
