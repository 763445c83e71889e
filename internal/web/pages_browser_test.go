package web_test

import (
	"testing"

	"github.com/infuse-cymru/journeys/internal/store"
)

// The pages TestJourneyInTheBrowser does not reach pass the same checks
// (axe-core's WCAG 2.2 AA rules among them), in both languages: signing
// in, the accessibility statement, a coordinator's people, a person and
// the sessions page, a participant with no journey yet, and the
// not-found page.
func TestEveryOtherPageIsAccessible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	s := newSite(t, siteOptions{})
	coord := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish)
	aled := s.person(store.RoleParticipant, "Aled", "aled@example.org", store.LanguageWelsh)
	for _, lang := range []string{"en", "cy"} {
		tb := newTab(t, s.srv.URL)
		tb.open("/lang/" + lang + "?next=/signin")
		tb.checkAccessible("sign-in (" + lang + ")")
		tb.open("/accessibility")
		tb.checkAccessible("accessibility statement (" + lang + ")")
		tb.signIn(s, coord, "/")
		tb.open("/lang/" + lang + "?next=/") // signing in follows the person's language; this page is about lang
		for name, path := range map[string]string{
			"people": "/people", "person": "/people/" + aled.ID.String(), "sessions": "/sessions", "not found": "/no-such-page",
		} {
			tb.open(path)
			tb.checkAccessible(name + " (" + lang + ")")
		}
	}
	tb := newTab(t, s.srv.URL)
	tb.signIn(s, aled, "/")
	tb.checkAccessible("a participant with no journey (cy)")
	tb.shot("participant-no-journey-cy")
}
