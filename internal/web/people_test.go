package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
)

// upload sends the form at action as multipart/form-data, with fields and
// the file named file.
func (b *browser) upload(action string, fields url.Values, name, content string) answer {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				b.t.Fatal(err)
			}
		}
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			b.t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	if err := mw.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, b.site.srv.URL+action, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	return answer{Response: resp, body: page.String()}
}

const peopleHeader = "role,given_name,family_name,email,local_authority,theme,language\n"

// A coordinator imports a people file from the pages: a file with wrong
// lines imports nobody and lists each line's problems by number, the
// corrected file imports everyone, and the same file again changes
// nothing. The form needs the session's CSRF token and a coordinator.
func TestACoordinatorImportsPeopleFromThePage(t *testing.T) {
	s := newSite(t, siteOptions{})
	coord := s.browser()
	coord.signIn(s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish))
	page := coord.get("/people")
	expect(t, "the people page", page, http.StatusOK, `enctype="multipart/form-data"`, "Megan Prosser",
		"role,given_name,family_name,email,local_authority,theme,language")
	form := formFields(t, page.body, "/people/import")

	expect(t, "no file", coord.upload("/people/import", form, "", ""), http.StatusUnprocessableEntity,
		`<a href="#file">Choose a CSV file to import</a>`)
	bad := peopleHeader +
		"participant,Aled,Powell,aled@example.org,Newport,communities,cy\n" +
		"participant,Elin,,elin@example.org,Atlantis,communities,\n" +
		"teacher,Gwen,Davies,gwen@example.org,,,\n"
	expect(t, "a file with wrong lines", coord.upload("/people/import", form, "people.csv", bad), http.StatusUnprocessableEntity,
		"Nobody was imported", "Line 3: ", "Atlantis", "Line 4: ", "teacher")
	if list, err := s.st.ListPeople(t.Context(), ""); err != nil || len(list) != 1 {
		t.Fatalf("after a refused file: %d people (%v), want the coordinator alone", len(list), err)
	}

	good := peopleHeader +
		"participant,Aled,Powell,aled@example.org,Newport,communities,cy\n" +
		"coach,Elin,Hughes,elin@example.org,,,en\n"
	for i := range 2 {
		form.Set("idempotency_key", "import-"+string(rune('a'+i)))
		expect(t, "the corrected file", follow(coord, coord.upload("/people/import", form, "people.csv", good)), http.StatusOK,
			"The file is imported.", "Aled Powell", "Elin Hughes", "Newport")
		if list, err := s.st.ListPeople(t.Context(), ""); err != nil || len(list) != 3 {
			t.Errorf("after importing the file %d times: %d people (%v), want 3", i+1, len(list), err)
		}
	}

	// The same form sent again under its key (a double click: the browser
	// draws a new multipart boundary each time) is answered from the first.
	replay := coord.upload("/people/import", form, "people.csv", good)
	if replay.StatusCode != http.StatusSeeOther || replay.Header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("the import sent twice under one key: %d, replayed %q\n%s", replay.StatusCode, replay.Header.Get(idempotency.ReplayedHeader), replay.body)
	}
	// Another form cannot be sent as multipart: only the import takes a file.
	lang := url.Values{"csrf": form["csrf"], "idempotency_key": {"lang-1"}, "language": {"en"}}
	if a := coord.upload("/language", lang, "", ""); a.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a multipart form to /language: %d, want 415", a.StatusCode)
	}

	noCSRF := url.Values{"idempotency_key": {"import-x"}}
	if a := coord.upload("/people/import", noCSRF, "people.csv", good); a.StatusCode != http.StatusForbidden {
		t.Errorf("an import without the CSRF token: %d, want 403", a.StatusCode)
	}
	participant := s.browser()
	participant.signIn(s.person(store.RoleParticipant, "Owain", "owain@example.org", store.LanguageEnglish))
	if a := participant.get("/people"); a.StatusCode != http.StatusForbidden {
		t.Errorf("a participant opening the people page: %d, want 403", a.StatusCode)
	}
	fields := url.Values{"csrf": {csrfOf(t, participant)}, "idempotency_key": {"p-1"}}
	if a := participant.upload("/people/import", fields, "people.csv", strings.Replace(good, "Aled", "Mallory", 1)); a.StatusCode != http.StatusForbidden {
		t.Errorf("a participant importing: %d, want 403", a.StatusCode)
	}
}
