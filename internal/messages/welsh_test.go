package messages

import (
	"testing"

	"github.com/infuse-cymru/journeys/dev/welsh"
)

// The Welsh day and month names dates are written with are spelt right
// (the templates' Welsh is checked with the programme's files).
func TestWelshDatesAreSpeltRight(t *testing.T) {
	var texts []welsh.Text
	for _, names := range [][]string{welshWeekdays[:], welshMonths[1:]} {
		for _, n := range names {
			texts = append(texts, welsh.Text{Where: "the dates' " + n, Welsh: n})
		}
	}
	welsh.CheckSpelling(t, texts)
}
