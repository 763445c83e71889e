// Package demo gives `infuse dev --demo` something to look at: people, an
// intake part-way through (Cohort Alpha, started, with offers, a waitlist
// and acceptances behind it) and one open for applications (Cohort 2). It
// goes through the same application calls (internal/app) as the command line, so it
// doubles as a smoke test of the whole path. Its addresses are at
// example.org, which cannot receive mail.
package demo

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// seeder makes the demo through the application people use.
type seeder struct{ *app.App }

// demoPeople is the demo's people file. Names are fictional; languages mix
// Welsh, English and unknown (bilingual, Welsh first).
const demoPeople = `role,given_name,family_name,email,local_authority,theme,language
coordinator,Megan,Howells,megan.howells@demo.example.org,Monmouthshire,,en
coach,Elin,Rowlands,elin.rowlands@demo.example.org,,,cy
coach,Gareth,Hughes,gareth.hughes@demo.example.org,,,en
coach,Nia,Parry,nia.parry@demo.example.org,,,
participant,Carys,Pritchard,carys.pritchard@demo.example.org,Blaenau Gwent,decarbonisation,cy
participant,Tom,Ashworth,tom.ashworth@demo.example.org,Bridgend,communities,en
participant,Siân,Jenkins,sian.jenkins@demo.example.org,Caerphilly,decarbonisation,
participant,Dafydd,Llywelyn,dafydd.llywelyn@demo.example.org,Cardiff,communities,cy
participant,Rachel,Morgan,rachel.morgan@demo.example.org,Merthyr Tydfil,decarbonisation,en
participant,Owain,Bevan,owain.bevan@demo.example.org,Monmouthshire,communities,
participant,Gwenllïan,Evans,gwenllian.evans@demo.example.org,Newport,decarbonisation,cy
participant,James,Whitfield,james.whitfield@demo.example.org,Rhondda Cynon Taf,communities,en
participant,Ffion,Davies,ffion.davies@demo.example.org,Torfaen,decarbonisation,
participant,Priya,Sharma,priya.sharma@demo.example.org,Vale of Glamorgan,communities,en
participant,Rhodri,Thomas,rhodri.thomas@demo.example.org,Blaenau Gwent,communities,cy
participant,Emma,Clarke,emma.clarke@demo.example.org,Bridgend,decarbonisation,en
participant,Iwan,Griffiths,iwan.griffiths@demo.example.org,Caerphilly,communities,
participant,Sarah,O'Neill,sarah.oneill@demo.example.org,Cardiff,decarbonisation,en
participant,Lowri,Williams,lowri.williams@demo.example.org,Merthyr Tydfil,communities,cy
participant,Daniel,Price,daniel.price@demo.example.org,Monmouthshire,decarbonisation,
participant,Angharad,Roberts,angharad.roberts@demo.example.org,Newport,communities,cy
participant,Mark,Fletcher,mark.fletcher@demo.example.org,Rhondda Cynon Taf,decarbonisation,en
participant,Mererid,Lewis,mererid.lewis@demo.example.org,Torfaen,communities,
participant,Aled,Powell,aled.powell@demo.example.org,Vale of Glamorgan,decarbonisation,cy
participant,Hannah,Bowen,hannah.bowen@demo.example.org,Cardiff,communities,en
participant,Geraint,Watkins,geraint.watkins@demo.example.org,Newport,decarbonisation,
participant,Zoë,Richards,zoe.richards@demo.example.org,Caerphilly,communities,en
participant,Emrys,Vaughan,emrys.vaughan@demo.example.org,Rhondda Cynon Taf,decarbonisation,cy
`

// Names of the demo intakes and how Cohort Alpha's applications go.
const (
	demoAlpha    = "Cohort Alpha"
	demoCohort2  = "Cohort 2"
	demoCapacity = 20
	demoOffered  = 20 // the first 20 applicants are offered a place, the rest waitlisted
	demoAccepted = 18 // the first 18 offered accept
)

// Demo is what Seed made, or found already made.
type Demo struct {
	CoordinatorID  uuid.UUID
	CoachIDs       []uuid.UUID
	ParticipantIDs []uuid.UUID
	AlphaID        uuid.UUID
	Cohort2ID      uuid.UUID
	// Done lists what this run did, in order; empty when everything was there.
	Done []string
}

// Seed creates the demo data through svc, or finishes creating it. It is
// idempotent: each step first looks for what it would create, so a second
// run finds everything and does nothing.
func Seed(ctx context.Context, svc *app.App) (Demo, error) {
	s := seeder{svc}
	var d Demo
	if err := s.seedDemoPeople(ctx, &d); err != nil {
		return d, fmt.Errorf("demo people: %w", err)
	}
	now := s.Commands.Now()
	alpha, err := s.ensureDemoIntake(ctx, &d, commands.IntakeSpec{
		Name: demoAlpha, CoordinatorID: d.CoordinatorID, Capacity: demoCapacity,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(48 * time.Hour), StartsOn: londonDay(now.AddDate(0, 0, 3)),
	})
	if err != nil {
		return d, err
	}
	d.AlphaID = alpha.ID
	if err := s.runDemoAlpha(ctx, &d, alpha); err != nil {
		return d, fmt.Errorf("demo %s: %w", demoAlpha, err)
	}
	c2, err := s.ensureDemoIntake(ctx, &d, commands.IntakeSpec{
		Name: demoCohort2, CoordinatorID: d.CoordinatorID, Capacity: demoCapacity,
		OpensAt: now, ClosesAt: now.AddDate(0, 0, 28), StartsOn: londonDay(now.AddDate(0, 0, 56)),
	})
	d.Cohort2ID = c2.ID
	return d, err
}

func (s seeder) seedDemoPeople(ctx context.Context, d *Demo) error {
	res, err := s.People.ImportPeople(ctx, strings.NewReader(demoPeople))
	if err != nil {
		return err
	}
	if n := len(res.Created); n > 0 {
		d.Done = append(d.Done, fmt.Sprintf("created %d demo people", n))
	}
	// Keep the file's order: who applies first decides who is offered.
	rows, err := csv.NewReader(strings.NewReader(demoPeople)).ReadAll()
	if err != nil {
		return err
	}
	email := slices.Index(rows[0], "email")
	for _, row := range rows[1:] { // after the header
		p, err := s.People.ByEmail(ctx, row[email])
		if err != nil {
			return err
		}
		switch p.Role {
		case store.RoleCoordinator:
			d.CoordinatorID = p.ID
		case store.RoleCoach:
			d.CoachIDs = append(d.CoachIDs, p.ID)
		case store.RoleParticipant:
			d.ParticipantIDs = append(d.ParticipantIDs, p.ID)
		}
	}
	return nil
}

// ensureDemoIntake finds the demo coordinator's intake by name, or creates it.
func (s seeder) ensureDemoIntake(ctx context.Context, d *Demo, spec commands.IntakeSpec) (store.Intake, error) {
	intakes, err := s.Views.ListIntakes(ctx)
	if err != nil {
		return store.Intake{}, err
	}
	for _, in := range intakes {
		if in.Name == spec.Name && in.CoordinatorID == spec.CoordinatorID {
			return in.Intake, nil
		}
	}
	in, err := s.Commands.CreateIntake(ctx, spec)
	if err != nil {
		return in, fmt.Errorf("demo %s: %w", spec.Name, err)
	}
	d.Done = append(d.Done, fmt.Sprintf("created intake %s (%s)", spec.Name, in.ID))
	return in, nil
}

// runDemoAlpha takes Cohort Alpha from open to started. Every step acts
// only on journeys not yet past it, so an interrupted run can be repeated.
func (s seeder) runDemoAlpha(ctx context.Context, d *Demo, alpha store.Intake) error {
	if alpha.Status == store.IntakeStarted || alpha.Status == store.IntakeFinished {
		return nil
	}
	if err := starter.WaitFor(ctx, "the application window to open", func() (bool, error) {
		in, err := s.Views.Intake(ctx, alpha.ID)
		return in.Status == store.IntakeOpen, err
	}); err != nil {
		return err
	}
	steps := []func(context.Context, *Demo, uuid.UUID) error{s.demoApply, s.demoDecide, s.demoAccept, s.demoStart}
	for _, step := range steps {
		if err := step(ctx, d, alpha.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s seeder) demoApply(ctx context.Context, d *Demo, intakeID uuid.UUID) error {
	journeys, err := s.journeysByPerson(ctx, intakeID)
	if err != nil {
		return err
	}
	var todo []int // positions of participants yet to apply
	for i, p := range d.ParticipantIDs {
		if _, ok := journeys[p]; !ok {
			todo = append(todo, i)
		}
	}
	err = inParallel(todo, func(i int) error {
		_, err := s.Commands.Apply(ctx, intakeID, d.ParticipantIDs[i], d.CoachIDs[i%len(d.CoachIDs)])
		return err
	})
	if err != nil {
		return err
	}
	if len(todo) > 0 {
		d.Done = append(d.Done, fmt.Sprintf("%d applications to %s", len(todo), demoAlpha))
	}
	return s.waitForJourneys(ctx, d, intakeID, "every application to be recorded", func(int, contract.Status) bool { return true })
}

func (s seeder) demoDecide(ctx context.Context, d *Demo, intakeID uuid.UUID) error {
	journeys, err := s.journeysByPerson(ctx, intakeID)
	if err != nil {
		return err
	}
	var todo []int
	offers := 0
	for i, p := range d.ParticipantIDs {
		if st := journeys[p].State; st == contract.StatusSubmitted || st == contract.StatusUnderReview {
			todo = append(todo, i)
			if i < demoOffered {
				offers++
			}
		}
	}
	err = inParallel(todo, func(i int) error {
		decision := workflows.DecisionWaitlist
		if i < demoOffered {
			decision = workflows.DecisionOffer
		}
		_, err := s.Commands.Decide(ctx, intakeID, journeys[d.ParticipantIDs[i]].JourneyID, decision)
		return err
	})
	if err != nil {
		return err
	}
	if len(todo) > 0 {
		d.Done = append(d.Done, fmt.Sprintf("%d offers made, %d waitlisted", offers, len(todo)-offers))
	}
	return s.waitForJourneys(ctx, d, intakeID, "the offers to reach the journeys", func(_ int, state contract.Status) bool {
		return state != contract.StatusSubmitted && state != contract.StatusUnderReview
	})
}

func (s seeder) demoAccept(ctx context.Context, d *Demo, intakeID uuid.UUID) error {
	journeys, err := s.journeysByPerson(ctx, intakeID)
	if err != nil {
		return err
	}
	var todo []int
	for i, p := range d.ParticipantIDs[:demoAccepted] {
		if journeys[p].State == contract.StatusOffered {
			todo = append(todo, i)
		}
	}
	err = inParallel(todo, func(i int) error {
		_, err := s.Commands.RespondToOffer(ctx, journeys[d.ParticipantIDs[i]].JourneyID, true)
		return err
	})
	if err != nil {
		return err
	}
	if len(todo) > 0 {
		d.Done = append(d.Done, fmt.Sprintf("%d offers accepted", len(todo)))
	}
	// The intake learns of acceptances by signal; it starts only with them counted.
	return starter.WaitFor(ctx, "the intake to count the acceptances", func() (bool, error) {
		counts, err := s.Workflows.AskIntakeCounts(ctx, intakeID)
		return counts[contract.StatusAccepted] >= demoAccepted, err
	})
}

// demoParallelism bounds the demo's requests in flight: enough for the
// server to batch updates to the intake, few enough not to swamp SQLite.
const demoParallelism = 8

// inParallel calls fn for every element of todo, a few at a time, and
// returns the errors joined.
func inParallel(todo []int, fn func(int) error) error {
	sem := make(chan struct{}, demoParallelism)
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for k, i := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			errs[k] = fn(i)
			<-sem
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s seeder) demoStart(ctx context.Context, d *Demo, intakeID uuid.UUID) error {
	if _, err := s.Commands.StartIntake(ctx, intakeID); err != nil {
		return err
	}
	d.Done = append(d.Done, fmt.Sprintf("started %s", demoAlpha))
	return nil
}

// journeysByPerson is the intake's journeys by participant.
func (s seeder) journeysByPerson(ctx context.Context, intakeID uuid.UUID) (map[uuid.UUID]store.JourneySnapshot, error) {
	journeys, err := s.Views.JourneysOfIntake(ctx, intakeID)
	if err != nil {
		return nil, err
	}
	m := make(map[uuid.UUID]store.JourneySnapshot, len(journeys))
	for _, j := range journeys {
		m[j.PersonID] = j
	}
	return m, nil
}

// waitForJourneys waits until every demo participant has a journey whose
// state satisfies ok (given the participant's position in the file).
func (s seeder) waitForJourneys(ctx context.Context, d *Demo, intakeID uuid.UUID, what string, ok func(i int, state contract.Status) bool) error {
	return starter.WaitFor(ctx, what, func() (bool, error) {
		journeys, err := s.journeysByPerson(ctx, intakeID)
		if err != nil {
			return false, err
		}
		for i, p := range d.ParticipantIDs {
			j, found := journeys[p]
			if !found || !ok(i, j.State) {
				return false, nil
			}
		}
		return true, nil
	})
}

// londonDay is midnight, Europe/London, at the start of t's day there: the
// form an intake's start date takes.
func londonDay(t time.Time) time.Time {
	t = t.In(programme.London)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, programme.London)
}
