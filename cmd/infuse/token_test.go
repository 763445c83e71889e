package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// The token commands need only the store.
func TestTokenCommands(t *testing.T) {
	isolateEnv(t)
	ctx := context.Background()
	st, db := storeFile(t)
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Ceri", FamilyName: "Jones",
		EmailAddress: "ceri@example.org", Language: store.LanguageWelsh}
	if err := st.CreatePeople(ctx, []store.Person{coord}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	w := &world{t: t, database: db}
	id := w.jsonField("id", "token", "create", "--person", "CERI@example.org", "--role", "coordinator", "--name", "council CRM", "--json")
	out := w.must("token", "create", "--person", coord.ID.String(), "--role", "coordinator", "--name", "reports")
	lines := strings.Fields(out)
	var plain string
	for i, f := range lines {
		if f == "Ceri" && i+3 < len(lines) {
			plain = lines[i+3] // "... Ceri Jones ceri@example.org:  TOKEN"
		}
	}

	st, err := sqlitestore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.AuthenticateAPIToken(ctx, plain, time.Now())
	if err != nil || tok.Role != store.RoleCoordinator || tok.PersonID != coord.ID || tok.Name != "reports" {
		t.Fatalf("the printed token %q does not authenticate as the coordinator: %+v %v\n%s", plain, tok, err, out)
	}

	// The list shows both, the one just used with its last use, never a token.
	list := w.must("token", "list", "--person", "ceri@example.org")
	if used, never := lastUsed(list, tok.ID.String()), lastUsed(list, id); used != when(tok.LastUsedAt) || never != "-" || strings.Contains(list, plain) {
		t.Errorf("token list shows last uses %q (want %q) and %q (want -):\n%s", used, when(tok.LastUsedAt), never, list)
	}
	var listed []struct {
		ID         string `json:"id"`
		LastUsedAt string `json:"lastUsedAt"`
	}
	w.jsonInto(&listed, "token", "list", "--person", "ceri@example.org")
	if len(listed) != 2 {
		t.Errorf("token list --json lists %+v, want the two tokens", listed)
	}
	month := w.jsonField("expiresAt", "token", "create", "--person", "ceri@example.org", "--role", "coordinator", "--name", "a month", "--days", "30", "--json")
	if ends, err := time.Parse(time.RFC3339Nano, month); err != nil || ends.Sub(time.Now()) < 29*24*time.Hour || ends.Sub(time.Now()) > 31*24*time.Hour {
		t.Errorf("--days 30 made a token that ends at %q (%v)", month, err)
	}
	w.expect(exitInvalid, []string{"--days -1"}, "token", "create", "--person", "ceri@example.org", "--role", "coordinator", "--name", "x", "--days", "-1")
	w.expect(exitInvalid, []string{"--days 3000000"}, "token", "create", "--person", "ceri@example.org", "--role", "coordinator", "--name", "x", "--days", "3000000")

	if out := w.must("token", "revoke", id); !strings.Contains(out, "revoked") {
		t.Errorf("revoke said %q", out)
	}
	var again struct {
		ID      string `json:"id"`
		Revoked bool   `json:"revoked"`
	}
	w.jsonInto(&again, "token", "revoke", id) // again: still revoked, no error
	if again.ID != id || !again.Revoked {
		t.Errorf("token revoke --json, again: %+v", again)
	}
	w.expect(exitNotFound, []string{"no API token"}, "token", "revoke", uuid.NewString())
	w.expect(exitInvalid, []string{"not a token ID"}, "token", "revoke", "abc")
	w.expect(exitInvalid, []string{"own role"}, "token", "create", "--person", "ceri@example.org", "--role", "coach", "--name", "x")
	w.expect(exitInvalid, []string{"admin"}, "token", "create", "--person", "ceri@example.org", "--role", "admin", "--name", "x")
	w.expect(exitInvalid, []string{"required"}, "token", "create", "--person", "ceri@example.org", "--role", "coach")
	w.expect(exitNotFound, []string{"nobody@example.org"}, "token", "create", "--person", "nobody@example.org", "--role", "coach", "--name", "x")
}

// lastUsed is the LAST USED column of the row of token id in the table
// `infuse token list` printed.
func lastUsed(table, id string) string {
	cols := regexp.MustCompile(`\s{2,}`)
	lines := strings.Split(table, "\n")
	header := cols.Split(lines[0], -1)
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, id) {
			row := cols.Split(line, -1)
			for i, h := range header {
				if h == "LAST USED" && i < len(row) {
					return row[i]
				}
			}
		}
	}
	return ""
}
