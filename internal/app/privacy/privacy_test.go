package privacy_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/apptest"
	"github.com/infuse-cymru/journeys/internal/app/privacy"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

func TestExportThenEraseAPerson(t *testing.T) {
	ctx := context.Background()
	st := sqlitestore.OpenTest(t)
	s := privacy.New(st)
	a := app.New(nil, st)
	c := apptest.NewCohort(t, st, "Cohort 1")
	carys := c.Participant(t, "Carys", "Pritchard", "Cardiff", "decarbonisation")
	journey := uuid.New()
	reminder := store.Message{Key: "m/1", IntakeID: c.Intake.ID, JourneyID: journey, RecipientID: carys.ID,
		Role: store.RoleParticipant, Template: "session-reminder-week", ItemID: "adaption-lab/1", Channel: "email",
		SendAt: time.Date(2021, 9, 24, 9, 0, 0, 0, time.UTC)}
	c.Record(t, journey, carys, "programme.scheduled", "", "awaiting_start", "", reminder)
	plan := store.Note{ID: uuid.New(), AuthorID: carys.ID, JourneyID: journey, Body: "Retrofit the depot lighting."}
	coaching := store.Note{ID: uuid.New(), AuthorID: c.Coach.ID, JourneyID: journey, Body: "Carys is on track."}
	for _, n := range []store.Note{plan, coaching} {
		if err := st.SaveNote(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	x, err := s.Export(ctx, carys.ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.Person.GivenName != "Carys" || x.Person.Email != carys.EmailAddress || len(x.Journeys) != 1 {
		t.Fatalf("export = %+v", x)
	}
	j := x.Journeys[0]
	if j.JourneyID != journey || j.IntakeName != "Cohort 1" || len(j.Events) != 1 || len(j.Notes) != 2 {
		t.Errorf("exported journey = %+v", j)
	}
	if len(x.Messages) != 1 || x.Messages[0].Template != "session-reminder-week" || x.Messages[0].Status != "queued" {
		t.Errorf("exported messages = %+v", x.Messages)
	}
	doc := marshal(t, x)
	for _, want := range []string{`"givenName":"Carys"`, plan.Body, coaching.Body, `"notesWritten":[]`} {
		if !strings.Contains(doc, want) {
			t.Errorf("export lacks %s:\n%s", want, doc)
		}
	}
	// The coach's own export has the note they wrote on Carys's journey.
	cx, err := s.Export(ctx, c.Coach.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cx.Journeys) != 0 || len(cx.NotesWritten) != 1 || cx.NotesWritten[0].Body != coaching.Body {
		t.Errorf("coach's export: %d journeys, notes written %+v", len(cx.Journeys), cx.NotesWritten)
	}

	// While her journey runs neither she nor her coach can be erased: the
	// journey would go on mailing nobody.
	if _, err := s.Erase(ctx, carys.ID); !errors.Is(err, apperr.ErrRejected) || !strings.Contains(err.Error(), journey.String()) {
		t.Fatalf("erasing a participant with a running journey: %v, want apperr.ErrRejected naming the journey", err)
	}
	if _, err := s.Erase(ctx, c.Coach.ID); !errors.Is(err, apperr.ErrRejected) || !strings.Contains(err.Error(), "assign another coach") {
		t.Fatalf("erasing the coach of a running journey: %v, want apperr.ErrRejected saying to assign another coach", err)
	}
	if p, err := st.GetPerson(ctx, carys.ID); err != nil || p.GivenName != "Carys" || !p.ErasedAt.IsZero() {
		t.Fatalf("a refused erasure changed the person: %+v %v", p, err)
	}
	c.Record(t, journey, carys, "journey.withdrawn", "", "withdrawn", "withdrawn")

	erasure, err := s.Erase(ctx, carys.ID)
	if err != nil {
		t.Fatal(err)
	}
	if erasure.NotesDeleted != 2 || erasure.MessagesFailed != 1 {
		t.Errorf("erasure = %+v, want both notes deleted and the queued message failed", erasure)
	}
	x, err = s.Export(ctx, carys.ID)
	if err != nil {
		t.Fatal(err)
	}
	doc = marshal(t, x)
	for _, personal := range []string{"Carys", "Pritchard", carys.EmailAddress, plan.Body, coaching.Body} {
		if strings.Contains(doc, personal) {
			t.Errorf("after erasure the export still has %q:\n%s", personal, doc)
		}
	}
	if x.Person.ErasedAt.IsZero() || x.Person.LocalAuthority != "Cardiff" || len(x.Journeys) != 1 {
		t.Errorf("after erasure: %+v (the journey and authority stay, for counts)", x.Person)
	}

	dash, err := a.Views.IntakeDashboard(ctx, c.Intake.ID, views.DashboardPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dash.Rows) != 1 || dash.Rows[0].Name != views.ErasedName || dash.Rows[0].LocalAuthority != "Cardiff" {
		t.Errorf("dashboard row of an erased person = %+v", dash.Rows)
	}
	journeys, err := a.Views.JourneysOf(ctx, carys.ID)
	if err != nil || len(journeys) != 1 || journeys[0].Participant.Name != views.ErasedName || journeys[0].Participant.Email != "" {
		t.Errorf("JourneysOf an erased person = %+v, %v", journeys, err)
	}

	if _, err := s.Erase(ctx, uuid.New()); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("erasing nobody: %v, want apperr.ErrNotFound", err)
	}
	if _, err := s.Export(ctx, uuid.New()); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("exporting nobody: %v, want apperr.ErrNotFound", err)
	}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
