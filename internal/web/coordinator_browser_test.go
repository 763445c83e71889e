package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A coordinator does the tasks the command line and the API had before
// the pages, in a real browser and from the pages alone: imports a people
// file, gives a journey another coach, defers its participant to a later
// intake and erases a person's data.
func TestCoordinatorTasksInTheBrowser(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	if testing.Short() {
		t.Skip("runs a Temporal server and a browser")
	}
	w := newWorld(t, formsPace)
	later := w.acceptedWithALaterIntake()
	tb := newTab(t, w.s.srv.URL)
	tb.signIn(w.s, w.coordinator, "/")
	flash := func(what, want string) {
		t.Helper()
		if got := tb.text(".flash"); !strings.Contains(got, want) {
			t.Errorf("after %s the page says %q, want %q", what, got, want)
		}
	}

	// Import: the file chosen in the form, the people listed after.
	file := filepath.Join(t.TempDir(), "people.csv")
	csv := "role,given_name,family_name,email,local_authority,theme,language\n" +
		"coach,Gareth,Hughes,gareth@caerphilly.example.org,,,en\n" +
		"participant,Carys,Pritchard,carys@blaenau-gwent.example.org,Blaenau Gwent,decarbonisation,cy\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	tb.submit(`a[href="/people"]`, "/people")
	tb.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
	tb.submit(`form[action="/people/import"] button[type=submit]`, "/people")
	flash("importing", "The file is imported.")
	if page := tb.text("main"); !strings.Contains(page, "Carys Pritchard") || !strings.Contains(page, "Gareth Hughes") {
		t.Errorf("the people page after the import:\n%s", page)
	}
	tb.checkAccessible("people after an import")
	tb.shot("coordinator-people")
	gareth, err := w.st.FindPersonByEmail(w.ctx, "gareth@caerphilly.example.org")
	if err != nil {
		t.Fatal(err)
	}

	// Another coach, then the deferral, from the journey's page.
	journeyPath := "/journeys/" + w.journey.String()
	tb.open(journeyPath)
	tb.do(chromedp.SetValue(chromedp.CSS("#coach"), gareth.ID.String()))
	tb.submit(`form[action$="/coach"] button[type=submit]`, journeyPath)
	flash("reassigning", "The coach is assigned.")
	tb.do(chromedp.SetValue(chromedp.CSS("#defer-intake"), later.ID.String()))
	tb.submit(`form[action$="/defer"] button[type=submit]`, "/journeys/")
	flash("deferring", "The participant is deferred to this intake.")
	if got := tb.location(); strings.HasSuffix(got, journeyPath) || !strings.Contains(tb.text("main"), "Cohort Later") {
		t.Errorf("the deferral led to %s", got)
	}
	tb.checkAccessible("the deferred journey")

	// Erasure of a person with nothing running.
	carys, err := w.st.FindPersonByEmail(w.ctx, "carys@blaenau-gwent.example.org")
	if err != nil {
		t.Fatal(err)
	}
	personPath := "/people/" + carys.ID.String()
	tb.open(personPath)
	tb.do(chromedp.Click(chromedp.CSS("#confirm")))
	tb.submit(`form[action$="/erase"] button[type=submit]`, personPath)
	flash("erasing", "Their data is erased.")
	if stored, err := w.st.GetPerson(w.ctx, carys.ID); err != nil || stored.ErasedAt.IsZero() {
		t.Errorf("after erasing from the page: %+v, %v", stored, err)
	}
	tb.checkAccessible("an erased person")
	tb.shot("coordinator-erased-person")
}
