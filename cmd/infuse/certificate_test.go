package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The certificate commands need only the store: a real SQLite file holding
// one completed journey and one still in experimentation.
func TestCertificateCommands(t *testing.T) {
	isolateEnv(t)
	ctx := context.Background()
	st, db := storeFile(t)
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Carys", FamilyName: "Pritchard",
		EmailAddress: "carys@example.org", Language: store.LanguageWelsh}
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Status: store.IntakeStarted}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreatePeople(ctx, []store.Person{p}))
	must(st.CreateIntake(ctx, in))
	done, going := uuid.New(), uuid.New()
	for _, j := range []struct {
		id    uuid.UUID
		state contract.Status
	}{{done, "completed"}, {going, "experimentation"}} {
		_, err := st.Record(ctx, store.Event{Key: j.id.String(), IntakeID: in.ID, JourneyID: j.id, Type: "journey." + string(j.state),
			OccurredAt: time.Date(2022, 3, 31, 16, 0, 0, 0, time.UTC),
			Snapshot:   &store.JourneySnapshot{JourneyID: j.id, IntakeID: in.ID, PersonID: p.ID, State: j.state}})
		must(err)
	}
	st.Close()

	w := &world{t: t, database: db}
	pdf := filepath.Join(t.TempDir(), "certificate.pdf")
	out := w.must("certificate", "show", done.String(), "--out", pdf)
	data, err := os.ReadFile(pdf)
	must(err)
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("%s is not a PDF", pdf)
	}
	code := strings.Fields(out)[1] // "Certificate XXXXX-XXXXX of …"
	if !strings.Contains(out, "Carys Pritchard") || len(code) != 11 {
		t.Fatalf("certificate show: %s", out)
	}
	if again := w.jsonField("code", "certificate", "show", done.String(), "--out", pdf); again != code {
		t.Errorf("showing again gave another code: %s (first %s)", again, code)
	}

	verified := w.must("certificate", "verify", strings.ToLower(strings.ReplaceAll(code, "-", "")))
	for _, want := range []string{code, "genuine", "Carys Pritchard", "Cohort 1", "31 March 2022", "31 Mawrth 2022"} {
		if !strings.Contains(verified, want) {
			t.Errorf("certificate verify does not mention %q:\n%s", want, verified)
		}
	}
	if name := w.jsonField("name", "certificate", "verify", code); name != "Carys Pritchard" {
		t.Errorf("--json name %q", name)
	}

	unknown := "ZZZZZ-ZZZZZ"
	if code == unknown {
		unknown = "YYYYY-YYYYY"
	}
	w.expect(exitNotFound, []string{"no certificate has the code", unknown}, "certificate", "verify", unknown)
	w.expect(exitNotFound, []string{"no certificate"}, "certificate", "verify", "not-a-code")
	w.expect(exitRejected, []string{"has not completed", "experimentation"}, "certificate", "show", going.String(), "--out", pdf)
	w.expect(exitNotFound, []string{"journey"}, "certificate", "show", uuid.NewString(), "--out", pdf)
	w.expect(exitInvalid, []string{"--out"}, "certificate", "show", done.String())
	w.expect(exitInvalid, []string{"usage"}, "certificate", "verify")
}
