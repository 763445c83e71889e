package web

import (
	"net/url"
	"testing"

	"github.com/google/uuid"
)

// A decision's way back to its page of participants is built from what
// the form sent: only a journey's ID is taken from it, so a value made up
// to lead elsewhere (another site, a header of its own) leads to the
// intake's first page.
func TestTheWayBackToAPageIsOnlyEverThatPage(t *testing.T) {
	intake, journey := uuid.New(), uuid.New()
	first := "/intakes/" + intake.String()
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"after": {journey.String()}}, first + "?after=" + journey.String()},
		{url.Values{"before": {journey.String()}}, first + "?before=" + journey.String()},
		{url.Values{"after": {"//evil.example"}}, first},
		{url.Values{"before": {journey.String() + "\r\nSet-Cookie: x=y"}}, first},
		{url.Values{"after": {"https://evil.example/" + journey.String()}}, first},
		{url.Values{}, first},
	} {
		if got := intakePageURL(intake, pageAsked(c.form.Get)); got != c.want {
			t.Errorf("form %v leads back to %q, want %q", c.form, got, c.want)
		}
	}
}
