package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// `infuse signin link` prints a link on the pages' address whose secret
// signs the person in once.
func TestSigninLinkCommand(t *testing.T) {
	isolateEnv(t)
	ctx := context.Background()
	st, db := storeFile(t)
	coach := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"}
	if err := st.CreatePeople(ctx, []store.Person{coach}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	w := &world{t: t, database: db}
	link := w.jsonField("link", "signin", "link", "NIA@example.org", "--base-url", "https://infuse.example.gov.uk/")
	secret, ok := strings.CutPrefix(link, "https://infuse.example.gov.uk/signin/")
	if !ok || secret == "" {
		t.Fatalf("link %q is not on the base URL's sign-in path", link)
	}
	if out := w.must("signin", "link", coach.ID.String()); !strings.Contains(out, "http://127.0.0.1:8080/signin/") {
		t.Errorf("without --base-url the link should be on infuse dev's address:\n%s", out)
	}
	w.expect(exitNotFound, []string{"nobody@example.org"}, "signin", "link", "nobody@example.org")

	st, err := sqlitestore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	who, err := st.RedeemSignInLink(ctx, secret, time.Now())
	if err != nil || who != coach.ID {
		t.Fatalf("the printed link signs in %s (%v), want the coach %s", who, err, coach.ID)
	}
	if _, err := st.RedeemSignInLink(ctx, secret, time.Now()); err == nil {
		t.Error("the printed link worked twice")
	}
}

// TestAPINeedsABaseURL: `infuse api` will not start without the address
// its sign-in links should carry, nor with one that is not an absolute
// http(s) address, nor with plain http to another machine.
func TestAPINeedsABaseURL(t *testing.T) {
	isolateEnv(t)
	w := &world{t: t, database: filepath.Join(t.TempDir(), "infuse.db")}
	w.expect(exitInvalid, []string{"--base-url", "required"}, "api", "--http", "127.0.0.1:0")
	for base, want := range map[string]string{
		"infuse.example.gov.uk":               "not an http(s) address",
		"ftp://infuse.example.gov.uk":         "not an http(s) address",
		"https://infuse.example.gov.uk/?x=1":  "not an http(s) address",
		"https://user@infuse.example.gov.uk":  "not an http(s) address",
		"https://:443":                        "not an http(s) address",
		"https://infuse.example.gov.uk/?":     "not an http(s) address",
		"https://infuse.example.gov.uk/#":     "not an http(s) address",
		"https://infuse.example.gov.uk/pages": "has a path",
		"http://infuse.example.gov.uk":        "plain http",
		"http://192.0.2.10:8080":              "plain http",
	} {
		w.expect(exitInvalid, []string{want}, "api", "--http", "127.0.0.1:0", "--base-url", base)
	}
	for _, base := range []string{"https://infuse.example.gov.uk", "https://infuse.example.gov.uk/", "http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"} {
		if err := checkBaseURL(base); err != nil {
			t.Errorf("checkBaseURL(%q) = %v, want it accepted", base, err)
		}
	}
}

// TestSiteHTTPSFromBaseURL: a site whose base URL is https, in any letter
// case, answers as over TLS behind a proxy (HSTS here; Secure __Host-
// cookies in the auth tests); one on plain http does not.
func TestSiteHTTPSFromBaseURL(t *testing.T) {
	svc := app.New(nil, sqlitestore.OpenTest(t))
	for base, want := range map[string]bool{
		"https://infuse.example.gov.uk": true, "HTTPS://infuse.example.gov.uk": true, "http://localhost:8080": false,
	} {
		h, drain, err := site(svc, mailSettings{}, false, siteOptions{baseURL: base}, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil)) // plain HTTP from the proxy
		drain()
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != want {
			t.Errorf("base URL %s: HSTS sent = %v, want %v", base, got, want)
		}
	}
}
