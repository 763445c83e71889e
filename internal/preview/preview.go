// Package preview shows a coordinator, before an intake starts, every
// message its people would get: who, what, about which item, when, and in
// which language.
//
// It runs the intake's journeys for real, with the production workflows and
// activities (worker.Register), but inside the Temporal SDK's test
// environment (go.temporal.io/sdk/testsuite), whose clock skips ahead to the
// next timer, so six months take seconds. The store is a throwaway
// in-memory SQLite database holding copies of the intake and its people, so
// message recipients resolve while nothing touches the live Temporal
// cluster or the live store: the intake and journey workflows of a preview
// are new workflows in the test environment, not the running ones.
//
// After the run, the real delivery path (delivery.Deliverer with the
// programme's delivery.Policy: quiet hours, bank holidays, the daily cap
// with digests, and notify.Composer rendering each e-mail) drains the
// throwaway outbox under a fake clock into a recorder, so each message shows
// when it would actually reach its recipient. Nothing leaves the machine.
//
// What people do in the preview is the Scenario, described on Run.
package preview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/notify"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Languages a message goes out in: the recipient's recorded preference, or
// both (Welsh first) when it is not known.
const (
	LanguageWelsh     = "cy"
	LanguageEnglish   = "en"
	LanguageBilingual = "cy+en"
)

// Line is one message one person would get.
type Line struct {
	QueuedAt time.Time `json:"queuedAt"` // when the workflow queues it
	// DeliverAt is when the delivery policy lets it go (quiet hours, bank
	// holidays, the daily cap); zero if it would not go at all (such as a
	// recipient with no usable e-mail address).
	DeliverAt time.Time `json:"deliverAt"`
	// Digest: it is folded, with others due at once beyond the day's cap,
	// into one digest e-mail sent at DeliverAt.
	Digest        bool      `json:"digest"`
	RecipientID   uuid.UUID `json:"recipientId"`
	RecipientName string    `json:"recipientName"` // empty if the person is not in the store
	Role          string    `json:"role"`          // participant, coach or coordinator: what the recipient is to the journey
	Template      string    `json:"template"`      // the programme's message template, e.g. "session-reminder-day"
	ItemID        string    `json:"itemId"`        // the schedule item it is about, e.g. "adaption-lab/1"; empty for notices
	Language      string    `json:"language"`      // cy, en or cy+en
	JourneyID     uuid.UUID `json:"journeyId"`
}

// Plan is the outcome of a preview.
type Plan struct {
	IntakeID         uuid.UUID `json:"intakeId"`
	IntakeName       string    `json:"intakeName"`
	ProgrammeID      string    `json:"programmeId"`
	ProgrammeVersion int       `json:"programmeVersion"`
	OpensAt          time.Time `json:"opensAt"`
	ClosesAt         time.Time `json:"closesAt"`
	StartsOn         time.Time `json:"startsOn"`
	// The scenario's moments (see Run).
	AppliedAt  time.Time `json:"appliedAt"`
	OfferedAt  time.Time `json:"offeredAt"`
	AcceptedAt time.Time `json:"acceptedAt"`
	StartedAt  time.Time `json:"startedAt"`
	// Participants take a place and go through the programme; Waitlisted
	// applied beyond capacity and are not selected when the intake starts.
	Participants int `json:"participants"`
	Waitlisted   int `json:"waitlisted"`
	// Lines are the messages, by delivery time (undelivered ones last),
	// then queue time, then recipient.
	Lines []Line `json:"lines"`
	// Emails counts the e-mails delivery sent: a digest is one.
	Emails int `json:"emails"`
	// Problems lists scripted steps that the workflows refused. It is
	// empty when the scenario ran as described.
	Problems []string `json:"problems"`
}

// The scenario's timing, relative to the intake's own dates.
const (
	// ApplyAfterOpen: everyone's application is in this long after the window opens.
	ApplyAfterOpen = time.Minute
	// OfferAfterClose: the coordinator decides this long after the window closes.
	OfferAfterClose = time.Minute
	// AcceptAfterClose: every offer is accepted this long after the window closes.
	AcceptAfterClose = 10 * time.Minute
	// StartHour: the coordinator starts the intake at this hour (Europe/London) on its StartsOn date.
	StartHour = 9
	// AttendanceAfterSession: attendance (present) is recorded this long after each session ends.
	AttendanceAfterSession = time.Hour
	// TaskAhead: plans, checkpoints and reflections are done this long before they are due.
	TaskAhead = 24 * time.Hour
)

// idleTimeout bounds how long the test environment may sit with nothing to
// do (wall clock) before it gives up: a stuck workflow, not a long intake.
const idleTimeout = 30 * time.Second

// Source is the store a preview reads its intake from: the intake, its
// journeys and their events as recorded so far, and the people in them.
// It writes nothing there.
type Source interface {
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error)
	IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]store.Event, error)
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
}

// Run previews the intake intakeID of st, which it only reads. The scenario:
//
//   - Who takes part: if the intake has started, every journey that has
//     accepted a place and not left (accepted, awaiting start, in labs,
//     experimenting, paused, or already assessed); otherwise every
//     application still open (submitted, under review, waitlisted, offered,
//     accepted), each assumed to be offered a place and to accept it.
//     Withdrawn, deferred, declined, lapsed and rejected ones are left out.
//   - Their applications are in ApplyAfterOpen after the window opens, in
//     the order they first applied. OfferAfterClose after it closes the
//     coordinator offers places in that order up to the capacity and
//     waitlists the rest (who are not selected when the intake starts); the
//     offers are accepted AcceptAfterClose after it closes.
//   - The coordinator starts the intake at StartHour on its StartsOn date.
//   - Every participant attends every lab session (recorded
//     AttendanceAfterSession after it ends), hands in the plan and the
//     reflection, and their coach completes every coaching checkpoint
//     (green), each TaskAhead before it is due (or as soon as it opens, if
//     later). A journey with no coach keeps its coach: none, so its
//     checkpoint reminders go to the coordinator, as they would for real,
//     and nobody can complete them.
//
// The intake's own dates, capacity, coordinator, coaches and pinned
// programme version are used. Sessions moved with `intake reschedule` are
// not replayed: the preview follows the programme's planned times.
func Run(ctx context.Context, st Source, intakeID uuid.UUID) (Plan, error) {
	return RunReporting(ctx, st, intakeID, nil)
}

// Progress is where a preview has got to, for whoever waits for a long
// one (a minute for 1,000 people on two cores): each part of the
// simulation as it starts, then the delivery.
type Progress struct {
	// Part (from 1) of Parts is simulating People journeys; zero once
	// the simulation is over.
	Part, Parts, People int
	// Day of Days is how far the part's simulated programme has got, from
	// its application window opening (day 0, as the part starts) to its
	// last item: told once a simulated week.
	Day, Days int
	// Messages is how many queued messages the delivery drains, once it
	// starts (Part is then zero).
	Messages int
}

// RunReporting is Run, telling report (if not nil) of its progress, one
// call at a time and never after it has returned, though not always from
// the caller's goroutine (the parts' come from the simulation's).
func RunReporting(ctx context.Context, st Source, intakeID uuid.UUID, report func(Progress)) (Plan, error) {
	var mu sync.Mutex
	over := false
	defer func() {
		mu.Lock()
		over = true // a simulation left running (see below) tells no one
		mu.Unlock()
	}()
	tell := func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if !over && report != nil {
			report(p)
		}
	}
	in, err := st.GetIntake(ctx, intakeID)
	if err != nil {
		return Plan{}, fmt.Errorf("intake %s: %w", intakeID, err)
	}
	p := Plan{
		IntakeID: in.ID, IntakeName: in.Name, ProgrammeID: in.ProgrammeID, ProgrammeVersion: in.ProgrammeVersion,
		OpensAt: in.OpensAt, ClosesAt: in.ClosesAt, StartsOn: in.StartsOn,
	}
	p.AppliedAt = in.OpensAt.Add(ApplyAfterOpen)
	p.OfferedAt = in.ClosesAt.Add(OfferAfterClose)
	p.AcceptedAt = in.ClosesAt.Add(AcceptAfterClose)
	s := in.StartsOn.In(programme.London)
	p.StartedAt = time.Date(s.Year(), s.Month(), s.Day(), StartHour, 0, 0, 0, programme.London)
	if in.OpensAt.IsZero() || in.ClosesAt.IsZero() || in.StartsOn.IsZero() {
		return p, fmt.Errorf("intake %s has no application window or start date", intakeID)
	}
	if !p.AppliedAt.Before(in.ClosesAt) || !p.AcceptedAt.Before(p.StartedAt) {
		return p, fmt.Errorf("intake %s: the window (%s to %s) must close before the programme starts (%s)",
			intakeID, in.OpensAt.Format(time.RFC3339), in.ClosesAt.Format(time.RFC3339), p.StartedAt.Format(time.RFC3339))
	}

	applicants, err := applicants(ctx, st, in)
	if err != nil {
		return p, err
	}
	if len(applicants) == 0 {
		return p, nil
	}
	people, err := copyPeople(ctx, st, in, applicants)
	if err != nil {
		return p, err
	}

	sched, err := activities.ProgrammePlanner{}.Schedule(in.ProgrammeID, in.ProgrammeVersion,
		programme.ScheduleInput{StartsOn: in.StartsOn})
	if err != nil {
		return p, fmt.Errorf("planning %s v%d: %w", in.ProgrammeID, in.ProgrammeVersion, err)
	}

	mem, err := sqlitestore.Open(ctx, ":memory:")
	if err != nil {
		return p, fmt.Errorf("opening the preview's store: %w", err)
	}
	abandoned := false
	defer func() {
		if !abandoned {
			mem.Close()
		}
	}()
	if err := mem.CreatePeople(ctx, slices.Collect(maps.Values(people))); err != nil {
		return p, fmt.Errorf("copying people: %w", err)
	}
	// The SDK's environment takes no context, and one that blocks (see
	// partSize) never returns: the preview waits for it only as long as
	// ctx allows, and then leaves it, with mem, to end with the process.
	ran, done := p, make(chan error, 1)
	go func() { done <- runParts(ctx, mem, &ran, in, applicants, sched, tell) }()
	select {
	case err := <-done:
		if p = ran; err != nil {
			return p, err
		}
	case <-ctx.Done():
		abandoned = true
		go func() {
			<-done
			mem.Close()
		}()
		return p, fmt.Errorf("the preview's simulation did not finish in time: %w", ctx.Err())
	}

	// mem holds this preview's messages and nothing else.
	queued, err := mem.ListMessages(ctx, store.OutboxFilter{})
	if err != nil {
		return p, err
	}
	queuedAt := make(map[string]time.Time, len(queued))
	for _, m := range queued {
		queuedAt[m.Key] = m.SendAt
	}
	tell(Progress{Messages: len(queued)})
	emails, err := deliver(ctx, mem)
	if err != nil {
		return p, err
	}
	p.Emails = emails
	msgs, err := mem.ListMessages(ctx, store.OutboxFilter{})
	if err != nil {
		return p, err
	}
	digests := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		digests[delivery.MessageID("digest/"+m.Key, "")] = true
	}
	p.Lines = make([]Line, 0, len(msgs))
	for _, m := range msgs {
		who, known := people[m.RecipientID]
		l := Line{
			QueuedAt: queuedAt[m.Key], RecipientID: m.RecipientID, Role: string(m.Role),
			Template: m.Template, ItemID: m.ItemID, Language: LanguageBilingual, JourneyID: m.JourneyID,
		}
		if m.Status == store.MessageSent {
			l.DeliverAt = m.SentAt
			l.Digest = digests[m.MessageID]
		}
		if known {
			l.RecipientName = name(who)
			l.Language = language(who.Language)
		}
		p.Lines = append(p.Lines, l)
	}
	slices.SortStableFunc(p.Lines, func(a, b Line) int {
		return cmp.Or(cmp.Compare(boolInt(a.DeliverAt.IsZero()), boolInt(b.DeliverAt.IsZero())),
			a.DeliverAt.Compare(b.DeliverAt), a.QueuedAt.Compare(b.QueuedAt),
			cmp.Compare(a.RecipientName, b.RecipientName),
			cmp.Compare(a.RecipientID.String(), b.RecipientID.String()), cmp.Compare(a.Template, b.Template),
			cmp.Compare(a.ItemID, b.ItemID), cmp.Compare(a.JourneyID.String(), b.JourneyID.String()))
	})
	return p, nil
}

// partSize bounds the journeys one run of the SDK's test environment
// takes. Journeys of one intake move in step, and the environment's main
// loop blocks for ever when it queues more than 1,000 callbacks at once
// (a thousand journeys finishing at one moment do): an intake of 1,000
// never finished; 200 did. A hundred leaves each journey ten callbacks
// at one instant. Larger intakes run in parts, each its own copy of the
// intake with a share of the applicants. Nothing a journey does depends
// on another's, and each part's offers stay within the intake's capacity
// (those offered are chosen before the run), so the messages are the
// same; delivery then runs once, over every part's.
var partSize = 100

// runParts runs the intake's journeys in parts (partSize), one after
// another, each in a test environment of its own, all recording into mem.
// Each part's participants, waitlist and problems are added to p, and
// report is told as each starts. (Parts at once, one a core, took a
// 1,000-person preview from 54.8 s to 51.6 s only: their records take
// turns on mem's one connection.)
func runParts(ctx context.Context, mem *sqlitestore.Store, p *Plan, in store.Intake, applicants []applicant, sched programme.Schedule, report func(Progress)) error {
	all := parts(applicants)
	for i, some := range all {
		copyIn := in
		copyIn.Status = store.IntakeDraft
		if i > 0 {
			copyIn.ID = uuid.NewSHA1(in.ID, fmt.Appendf(nil, "preview part %d", i))
		}
		if err := mem.CreateIntake(ctx, copyIn); err != nil {
			return fmt.Errorf("copying the intake: %w", err)
		}
		part := *p // the plan's times; its problems are the part's own
		part.Problems = nil
		r := &runner{plan: &part, intake: copyIn, applicants: some, schedule: sched}
		r.report = func(day, days int) {
			report(Progress{Part: i + 1, Parts: len(all), People: len(some), Day: day, Days: days})
		}
		err := r.run(mem)
		p.Participants, p.Waitlisted = part.Participants, part.Waitlisted
		for _, problem := range part.Problems {
			// Said of the intake as a whole, and once, whichever part said it.
			problem = strings.ReplaceAll(problem, copyIn.ID.String(), in.ID.String())
			if !slices.Contains(p.Problems, problem) {
				p.Problems = append(p.Problems, problem)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parts splits the applicants into parts of at most partSize, as even as
// can be, in their order.
func parts(applicants []applicant) [][]applicant {
	n := (len(applicants) + partSize - 1) / partSize
	out := make([][]applicant, 0, n)
	for i := range n {
		out = append(out, applicants[i*len(applicants)/n:(i+1)*len(applicants)/n])
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// From is the sender of the preview's e-mails. They are only recorded, never
// sent; only whether a message carries an attachment (which delivery never
// folds into a digest) matters to the outcome.
var From = delivery.Address{Name: "Infuse (preview)", Address: "preview@example.invalid"}

// maxPasses bounds the delivery passes of a preview: far more than an
// intake's messages need, as each pass sends, fails or defers something.
const maxPasses = 100_000

// deliver drains the outbox of mem (holding only the intake's messages) the
// way the worker would: delivery.Deliverer with the programme's Policy and
// notify.Composer, into a recorder. Its clock goes from one due time to the
// next: a pass at a time with nothing due does nothing, and the worker's
// passes (every 10 seconds) see each message as soon as it is due, so
// passing exactly at each due time gives what production would. It returns
// how many e-mails were sent.
func deliver(ctx context.Context, mem *sqlitestore.Store) (int, error) {
	var now time.Time
	rec := &recorder{}
	d := delivery.New(mem, &notify.Composer{Store: mem, From: From, Unrendered: true}, rec, delivery.Options{
		Policy: delivery.NewPolicy(mem),
		Now:    func() time.Time { return now },
		Batch:  1000,
	})
	// times are the due times of queued messages, soonest first, as last
	// read from the outbox. A pass changes due times only by deferring or
	// retrying a message, so the outbox is read again only after one that
	// did; a time whose messages have since gone makes a pass that does
	// nothing.
	var times []time.Time
	read := func() error {
		pending, err := mem.ListMessages(ctx, store.OutboxFilter{Status: store.MessageQueued})
		if err != nil {
			return fmt.Errorf("reading the preview's outbox: %w", err)
		}
		times = times[:0]
		for _, m := range pending {
			due := m.SendAt
			if m.NextAttemptAt.After(due) {
				due = m.NextAttemptAt
			}
			times = append(times, due)
		}
		slices.SortFunc(times, time.Time.Compare)
		times = slices.CompactFunc(times, time.Time.Equal)
		return nil
	}
	if err := read(); err != nil {
		return 0, err
	}
	for range maxPasses {
		// Whatever was due at now has been through a pass: what is still
		// queued waits for a later time (deferred, retried, or behind one
		// that is).
		i, _ := slices.BinarySearchFunc(times, now, time.Time.Compare)
		for i < len(times) && !times[i].After(now) {
			i++
		}
		if i == len(times) {
			left, err := mem.ListMessages(ctx, store.OutboxFilter{Status: store.MessageQueued})
			if err != nil {
				return 0, fmt.Errorf("reading the preview's outbox: %w", err)
			}
			if len(left) > 0 {
				return 0, fmt.Errorf("the preview's delivery left %d messages queued", len(left))
			}
			return rec.count(), nil
		}
		now = times[i]
		st, err := d.DeliverDue(ctx)
		if err != nil {
			return 0, fmt.Errorf("delivering the preview's messages at %s: %w", now.Format(time.RFC3339), err)
		}
		if st.Deferred > 0 || st.Retried > 0 {
			if err := read(); err != nil {
				return 0, err
			}
		}
	}
	return 0, errors.New("the preview's delivery did not finish")
}

// recorder is the preview's delivery.Sender: it counts the e-mails and sends nothing.
type recorder struct {
	mu sync.Mutex
	n  int
}

func (r *recorder) Send(_ context.Context, _ delivery.Email) error {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// applicant is one journey that takes part in the preview.
type applicant struct {
	JourneyID uuid.UUID
	PersonID  uuid.UUID
	CoachID   uuid.UUID
	Offered   bool // within capacity; the others are waitlisted
}

// applicants picks who takes part (see Run), in the order they first applied.
func applicants(ctx context.Context, st Source, in store.Intake) ([]applicant, error) {
	snaps, err := st.ListJourneys(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the intake's journeys: %w", err)
	}
	events, err := st.IntakeEvents(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the intake's events: %w", err)
	}
	first := map[uuid.UUID]int64{}
	for _, e := range events {
		if _, ok := first[e.JourneyID]; !ok && e.JourneyID != uuid.Nil {
			first[e.JourneyID] = e.Seq
		}
	}
	started := in.Status == store.IntakeStarted || in.Status == store.IntakeFinished
	var out []applicant
	for _, s := range snaps {
		if !takesPart(s.State, started) {
			continue
		}
		out = append(out, applicant{JourneyID: s.JourneyID, PersonID: s.PersonID, CoachID: s.CoachID})
	}
	slices.SortStableFunc(out, func(a, b applicant) int {
		fa, oka := first[a.JourneyID]
		fb, okb := first[b.JourneyID]
		switch {
		case oka && okb && fa != fb:
			return cmp.Compare(fa, fb)
		case oka != okb: // journeys with events first
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.JourneyID.String(), b.JourneyID.String())
	})
	for i := range out {
		out[i].Offered = i < in.Capacity
	}
	return out, nil
}

func takesPart(s workflows.Status, started bool) bool {
	if !started {
		return !s.Terminal()
	}
	switch s {
	case contract.StatusAccepted, contract.StatusAwaitingStart, contract.StatusInLabs,
		contract.StatusExperimenting, contract.StatusPaused, contract.StatusCompleted, contract.StatusNotCompleted:
		return true
	}
	return false
}

// copyPeople reads the coordinator, participants and coaches from st.
// Someone missing from the store is left out: their messages still show,
// without a name, in both languages.
func copyPeople(ctx context.Context, st Source, in store.Intake, as []applicant) (map[uuid.UUID]store.Person, error) {
	people := map[uuid.UUID]store.Person{}
	add := func(id uuid.UUID) error {
		if id == uuid.Nil {
			return nil
		}
		if _, ok := people[id]; ok {
			return nil
		}
		p, err := st.GetPerson(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading person %s: %w", id, err)
		}
		people[id] = p
		return nil
	}
	if err := add(in.CoordinatorID); err != nil {
		return nil, err
	}
	for _, a := range as {
		if err := add(a.PersonID); err != nil {
			return nil, err
		}
		if err := add(a.CoachID); err != nil {
			return nil, err
		}
	}
	return people, nil
}

// runner drives one intake through the scenario in the test environment.
type runner struct {
	plan       *Plan
	intake     store.Intake
	applicants []applicant
	schedule   programme.Schedule

	env    *testsuite.TestWorkflowEnvironment
	began  time.Time
	people *scripted.Script // what everyone does, and what came of it
	report func(day, days int)
}

func (r *runner) run(mem *sqlitestore.Store) (err error) {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	r.env = suite.NewTestWorkflowEnvironment()
	r.env.SetTestTimeout(idleTimeout)
	// The real workflows never block, but a busy machine (the store's
	// writes, the garbage collector) can hold a workflow task past the
	// SDK's one-second deadlock guard, which would fail the preview for
	// nothing; idleTimeout still catches a stuck run.
	r.env.SetWorkerOptions(sdkworker.Options{DeadlockDetectionTimeout: idleTimeout})
	r.began = r.intake.OpensAt.Add(-time.Minute)
	r.env.SetStartTime(r.began)
	r.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IntakeWorkflowID(r.intake.ID)})
	worker.Register(r.env, activities.New(mem))
	r.people = scripted.New(r.env, r.began, r.intake.ID)
	defer func() {
		// The test environment panics when a workflow is stuck.
		if v := recover(); v != nil {
			err = fmt.Errorf("the preview did not run to the end: %v", v)
		}
	}()
	r.script()
	r.env.ExecuteWorkflow(workflows.IntakeWorkflow, workflows.Intake{
		IntakeID: r.intake.ID, CoordinatorID: r.intake.CoordinatorID,
		ProgrammeID: r.intake.ProgrammeID, ProgrammeVersion: r.intake.ProgrammeVersion,
		OpensAt: r.intake.OpensAt, ClosesAt: r.intake.ClosesAt, StartsOn: r.intake.StartsOn,
		Capacity: r.intake.Capacity,
	})
	if !r.env.IsWorkflowCompleted() {
		return errors.New("the preview's intake did not finish")
	}
	if err := r.env.GetWorkflowError(); err != nil {
		return fmt.Errorf("the preview's intake failed: %w", err)
	}
	if err := r.people.Problems(); err != nil {
		r.plan.Problems = append(r.plan.Problems, strings.Split(err.Error(), "\n")...)
	}
	return nil
}

// script registers what everyone does, at workflow times.
func (r *runner) script() {
	r.weekly()
	p := r.plan
	// Each applicant's step is a step of its own, in the applicants'
	// order: one step sending an update for each of a thousand people
	// would overfill the environment's queue of 1,000 callbacks, which its
	// main loop empties only once the step returns.
	for _, a := range r.applicants {
		r.at(p.AppliedAt, func() {
			r.update(uuid.Nil, "apply "+a.JourneyID.String(), workflows.SubmitApplicationRequest{JourneyID: a.JourneyID, PersonID: a.PersonID, CoachID: a.CoachID})
		})
	}
	for _, a := range r.applicants {
		d := workflows.DecisionWaitlist
		if a.Offered {
			d = workflows.DecisionOffer
		}
		r.at(p.OfferedAt, func() {
			r.update(uuid.Nil, string(d)+" "+a.JourneyID.String(), workflows.DecideRequest{JourneyID: a.JourneyID, Decision: d})
		})
	}
	for _, a := range r.applicants {
		if a.Offered {
			r.at(p.AcceptedAt, func() {
				r.update(a.JourneyID, "accept "+a.JourneyID.String(), workflows.RespondToOfferRequest{Accept: true})
			})
		}
	}
	r.at(p.StartedAt, func() {
		r.update(uuid.Nil, "start the intake", workflows.StartIntakeRequest{})
	})
	for _, a := range r.applicants {
		if !a.Offered {
			p.Waitlisted++
			continue
		}
		p.Participants++
		r.participate(a)
	}
}

// weekly tells report how far the simulation has got, as it starts and
// once every simulated week until the schedule's last item.
func (r *runner) weekly() {
	const day = 24 * time.Hour
	end := r.began
	for _, it := range r.schedule.Items {
		if it.DueAt.After(end) {
			end = it.DueAt
		}
	}
	days := int(end.Sub(r.began)/day) + 1
	r.report(0, days)
	for d := 7; d < days; d += 7 {
		r.at(r.began.Add(time.Duration(d)*day), func() { r.report(d, days) })
	}
}

// participate scripts one participant (and their coach) doing everything.
func (r *runner) participate(a applicant) {
	j := a.JourneyID
	for _, it := range r.schedule.Items {
		what := it.ID + " " + j.String()
		switch it.Kind {
		case programme.KindSession:
			r.at(it.DueAt.Add(AttendanceAfterSession), func() {
				r.update(j, "attend "+what, workflows.AttendanceRequest{SessionID: it.ID, Attended: true})
			})
		case programme.KindPlan, programme.KindReflection:
			r.at(taskTime(it), func() {
				r.update(j, "hand in "+what, workflows.SubmitTaskRequest{TaskID: it.ID, NoteID: uuid.New(), RequestID: it.ID})
			})
		case programme.KindCheckpoint:
			if a.CoachID == uuid.Nil {
				continue
			}
			r.at(taskTime(it), func() {
				r.update(j, "complete "+what, workflows.CompleteCheckpointRequest{
					CheckpointID: it.ID, CoachID: a.CoachID, NoteID: uuid.New(), Status: workflows.RAGGreen, RequestID: it.ID,
				})
			})
		}
	}
}

// taskTime is when a task is done: TaskAhead before it is due, but not before it opens.
func taskTime(it programme.Item) time.Time {
	t := it.DueAt.Add(-TaskAhead)
	if t.Before(it.OpensAt) {
		return it.OpensAt
	}
	return t
}

// at runs fn when the workflow clock reaches when, or at once if that is
// before the preview starts (the preview plays what is still to come).
func (r *runner) at(when time.Time, fn func()) {
	if !when.After(r.began) {
		when = r.began.Add(time.Nanosecond)
	}
	if err := r.people.At(when, fn); err != nil {
		panic(fmt.Sprintf("scripting a step at %s, after the start %s: %v", when, r.began, err)) // At refuses only times before the start
	}
}

// update sends the update req names to the journey's workflow (uuid.Nil:
// the intake's), with req as its argument unless it takes none, as the
// commands (through starter) send it.
func (r *runner) update(journey uuid.UUID, what string, req workflows.Request) {
	name, arg := req.Update()
	var args []any
	if arg != nil {
		args = []any{arg}
	}
	r.people.Send(journey, what, name, args...)
}

func name(p store.Person) string {
	switch {
	case p.GivenName == "":
		return p.FamilyName
	case p.FamilyName == "":
		return p.GivenName
	}
	return p.GivenName + " " + p.FamilyName
}

// language is the language a message to someone with preference l goes out in.
func language(l store.Language) string {
	switch l {
	case store.LanguageWelsh:
		return LanguageWelsh
	case store.LanguageEnglish:
		return LanguageEnglish
	}
	return LanguageBilingual
}
