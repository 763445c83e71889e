package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
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
