package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/apptest"
	"github.com/infuse-cymru/journeys/internal/store"
)

func TestSetLanguage(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	c := apptest.NewCohort(t, s.Store, "Cohort 1")
	p := c.Participant(t, "Dafydd", "Llywelyn", "Cardiff", "communities")
	for _, tc := range []struct {
		give string
		want store.Language
	}{{"CY", store.LanguageWelsh}, {"en", store.LanguageEnglish}, {"both", store.LanguageUnknown}, {" cy ", store.LanguageWelsh}, {"", store.LanguageUnknown}} {
		if err := s.People.SetLanguage(ctx, p.ID, tc.give); err != nil {
			t.Fatalf("SetLanguage(%q): %v", tc.give, err)
		}
		got, err := s.Store.GetPerson(ctx, p.ID)
		if err != nil || got.Language != tc.want {
			t.Errorf("after SetLanguage(%q): %q (%v), want %q", tc.give, got.Language, err, tc.want)
		}
	}
	err := s.People.SetLanguage(ctx, p.ID, "fr")
	if !errors.Is(err, apperr.ErrInvalid) || !strings.Contains(err.Error(), "cy") || !strings.Contains(err.Error(), "both") {
		t.Errorf(`SetLanguage("fr") = %v, want apperr.ErrInvalid naming the accepted values`, err)
	}
	if err := s.People.SetLanguage(ctx, uuid.New(), "cy"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("SetLanguage of nobody = %v, want apperr.ErrNotFound", err)
	}
}

func TestOpenIntakesAndJourneysOf(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	c := apptest.NewCohort(t, s.Store, "Cohort 1") // open
	closed := store.Intake{ID: uuid.New(), Name: "Cohort Alpha", ProgrammeID: "infuse", ProgrammeVersion: 1,
		CoordinatorID: c.Coordinator.ID, Capacity: 20, Status: store.IntakeStarted,
		OpensAt: c.Intake.OpensAt, ClosesAt: c.Intake.ClosesAt, StartsOn: c.Intake.StartsOn}
	if err := s.Store.CreateIntake(ctx, closed); err != nil {
		t.Fatal(err)
	}
	open, err := s.Views.OpenIntakes(ctx)
	if err != nil || len(open) != 1 || open[0].ID != c.Intake.ID {
		t.Errorf("OpenIntakes = %+v, %v; want Cohort 1 only", open, err)
	}

	p := c.Participant(t, "Rhodri", "Thomas", "Blaenau Gwent", "communities")
	journey := uuid.New()
	c.Record(t, journey, p, "application.submitted", "", "submitted", "")
	js, err := s.Views.JourneysOf(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 || js[0].JourneyID != journey || js[0].IntakeName != "Cohort 1" || js[0].State != "submitted" ||
		js[0].Coach == nil || js[0].Coach.Name != "Elin Rowlands" || js[0].Participant.Name != "Rhodri Thomas" {
		t.Errorf("JourneysOf = %+v", js)
	}
	if _, err := s.Views.JourneysOf(ctx, c.Coach.ID); !errors.Is(err, apperr.ErrInvalid) {
		t.Errorf("JourneysOf a coach = %v, want apperr.ErrInvalid", err)
	}
}
