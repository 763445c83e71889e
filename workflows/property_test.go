package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/workflows"
)

// An intake of a few journeys lives through six months of people acting at
// random moments, several at once, in any order, right or wrong; whatever
// they do, what users rely on holds (checkInvariants). Each case is seeded:
// a failure names its seed, and
//
//	INFUSE_PROPERTY_SEED=<seed> INFUSE_PROPERTY_CASES=1 go test ./workflows/ -run TestRandomActionsKeepTheInvariants
//
// plays it again. INFUSE_PROPERTY_CASES sets how many cases (default 30;
// scripts/test runs more).
func TestRandomActionsKeepTheInvariants(t *testing.T) {
	cases := envInt(t, "INFUSE_PROPERTY_CASES", 30)
	seed := uint64(envInt(t, "INFUSE_PROPERTY_SEED", int(time.Now().UnixNano()%1_000_000_000)))
	t.Logf("%d cases from seed %d", cases, seed)
	for i := range cases {
		s := seed + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			t.Parallel()
			c := newRandomCase(t, s)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("replay with INFUSE_PROPERTY_SEED=%d INFUSE_PROPERTY_CASES=1; what was done:\n%s\nwhat was recorded:\n%s",
						s, strings.Join(c.script, "\n"), c.recorded())
				}
			})
			c.h.run()
			c.checkInvariants()
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q is not a number", name, v)
	}
	return n
}

// randomCase is one intake and what its people do.
type randomCase struct {
	t        *testing.T
	h        *harness
	rnd      *rand.Rand
	capacity int
	// sentinel is a journey that is offered, accepts and withdraws in the
	// end, so that the intake always starts and so always finishes.
	sentinel uuid.UUID
	others   []uuid.UUID
	// moments are the programme's instants (sessions, due dates, reminders,
	// phase starts): where a person's action races the workflow's own step.
	moments []time.Time
	script  []string

	mu sync.Mutex // the environment runs activities on goroutines of their own
	// handedOver is, per journey deferred, the journey the later intake
	// took for it.
	handedOver map[uuid.UUID]uuid.UUID
	// chance decides, under mu, how long an activity takes and whether the
	// later intake has room: activities finish in an order of their own.
	chance *rand.Rand
}

func newRandomCase(t *testing.T, seed uint64) *randomCase {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := &randomCase{t: t, rnd: rnd, capacity: 1 + rnd.IntN(3), handedOver: map[uuid.UUID]uuid.UUID{},
		chance: rand.New(rand.NewPCG(seed^0x5bd1e995, seed))}
	c.h = newHarness(t, c.capacity)
	// Everyone may have ended before a step's time: the intake has then
	// finished, and the step rightly never runs.
	c.h.allowUnrun = true
	// After the start, so that the intake always starts: an intake nobody
	// is left to start waits for its coordinator for ever.
	started := day(2021, 9, 27, 11)
	moment := func(at time.Time) {
		if at.After(started) {
			c.moments = append(c.moments, at)
		}
	}
	for _, it := range c.h.schedule.Items {
		moment(it.OpensAt)
		moment(it.DueAt)
		for _, r := range it.Reminders {
			moment(r.At)
		}
	}
	for _, p := range c.h.schedule.Phases {
		moment(p.Start)
	}
	moment(c.h.schedule.EndsAt)
	later := uuid.New()
	c.h.laterIntake(later, c.takeDeferral)
	c.delayActivities()

	c.sentinel = c.h.apply(day(2021, 8, 19, 10))
	c.h.offerAndAccept(c.sentinel)
	for i := range 1 + rnd.IntN(4) {
		person, when := uuid.New(), day(2021, 8, 20+i, 11)
		c.others = append(c.others, c.h.applyAs(when, person))
		if rnd.IntN(3) == 0 {
			// The same person applying again, a moment later: refused.
			c.at(when.Add(time.Minute), func() []string {
				c.h.update(uuid.Nil, workflows.UpdateSubmitApplication,
					workflows.SubmitApplicationRequest{JourneyID: uuid.New(), PersonID: person, CoachID: c.h.coach})
				return []string{"journey " + strconv.Itoa(len(c.others)) + "'s person applies again"}
			})
		}
	}
	everyone := append([]uuid.UUID{c.sentinel}, c.others...)
	// Decisions and answers between the close and the start, some at once.
	for range 2 + rnd.IntN(6) {
		c.at(c.between(day(2021, 9, 14, 12), day(2021, 9, 27, 9)), c.decideOrAnswer)
	}
	c.at(day(2021, 9, 27, 10), func() []string {
		c.h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{})
		return []string{"start"}
	})
	// What people do during the programme: at its own moments, or between.
	for range 4 + rnd.IntN(10) {
		when := c.moments[rnd.IntN(len(c.moments))]
		if rnd.IntN(3) == 0 {
			when = c.between(started, c.h.schedule.EndsAt.Add(24*time.Hour))
		}
		c.at(when, func() []string { return c.act(everyone[rnd.IntN(len(everyone))], later) })
	}
	// The end: everyone still on their way withdraws, resumed or not, so the
	// intake finishes.
	c.at(c.h.schedule.EndsAt.Add(30*24*time.Hour), func() []string {
		for _, j := range everyone {
			c.h.withdraw(j)
		}
		return []string{"everyone withdraws"}
	})
	return c
}

// takeDeferral is the later intake: it has room two times in three.
func (c *randomCase) takeDeferral(d workflows.DeferralHandOver) error {
	c.pause()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.chance.IntN(3) == 0 {
		return errors.New("this intake is full")
	}
	c.handedOver[d.FromJourneyID] = d.NewJourneyID
	return nil
}

// delayActivities makes every record and plan take a random moment of
// real time (up to 2 ms), so that what the scripted people do at the same
// instant lands before, during or after the workflow's own step. The
// seed replays the script but not these timings exactly.
func (c *randomCase) delayActivities() {
	h, pause := c.h, c.pause
	h.env.OnActivity(h.acts.Record, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.RecordInput) error {
			pause()
			return h.acts.Record(ctx, in)
		})
	h.env.OnActivity(h.acts.PlanSchedule, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.PlanScheduleInput) (programme.Schedule, error) {
			pause()
			return h.acts.PlanSchedule(ctx, in)
		})
}

// pause takes a random moment of real time, up to 2 ms.
func (c *randomCase) pause() {
	c.mu.Lock()
	d := time.Duration(c.chance.IntN(2000)) * time.Microsecond
	c.mu.Unlock()
	time.Sleep(d)
}

// at scripts what does at when, and keeps a line of it for the failure log.
// Before each step it checks what must hold at every moment.
func (c *randomCase) at(when time.Time, does func() []string) {
	if !when.After(c.h.began) {
		when = c.h.began.Add(time.Hour)
	}
	c.h.at(when, func() {
		c.checkPlaces(when)
		c.checkOneLiveJourneyPerPerson(when)
		c.script = append(c.script, fmt.Sprintf("%s %s", when.UTC().Format(time.RFC3339), strings.Join(does(), "; ")))
	})
}

// between is a random instant in [from, to), on the minute.
func (c *randomCase) between(from, to time.Time) time.Time {
	return from.Add(time.Duration(c.rnd.Int64N(int64(to.Sub(from)/time.Minute))) * time.Minute)
}

// decideOrAnswer is a coordinator's decision or an applicant's answer, for
// one or two journeys at the same moment.
func (c *randomCase) decideOrAnswer() []string {
	var did []string
	for range 1 + c.rnd.IntN(2) {
		j := c.others[c.rnd.IntN(len(c.others))]
		switch c.rnd.IntN(5) {
		case 0, 1:
			c.h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer})
			did = append(did, "offer "+c.name(j))
		case 2:
			d := []workflows.Decision{workflows.DecisionWaitlist, workflows.DecisionReject}[c.rnd.IntN(2)]
			c.h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: d})
			did = append(did, string(d)+" "+c.name(j))
		case 3:
			accept := c.rnd.IntN(3) > 0
			c.h.update(j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: accept})
			did = append(did, fmt.Sprintf("%s answers %v", c.name(j), accept))
		case 4:
			c.h.withdraw(j)
			did = append(did, "withdraw "+c.name(j))
		}
	}
	return did
}

// act is something done to a journey during the programme, sometimes
// twice at once.
func (c *randomCase) act(j, later uuid.UUID) []string {
	var did []string
	for range 1 + c.rnd.IntN(2) {
		switch c.rnd.IntN(6) {
		case 0:
			c.h.withdraw(j)
			did = append(did, "withdraw "+c.name(j))
		case 1:
			c.h.update(j, workflows.UpdatePause, nil)
			did = append(did, "pause "+c.name(j))
		case 2:
			c.h.update(j, workflows.UpdateResume, nil)
			did = append(did, "resume "+c.name(j))
		case 3:
			c.h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
			did = append(did, "defer "+c.name(j))
		case 4:
			s := c.h.items(programme.KindSession)[c.rnd.IntN(12)]
			c.h.update(j, workflows.UpdateRecordAttendance, workflows.AttendanceRequest{SessionID: s.ID, Attended: c.rnd.IntN(4) > 0})
			did = append(did, "attendance "+s.ID+" "+c.name(j))
		case 5:
			cp := c.h.items(programme.KindCheckpoint)[c.rnd.IntN(6)]
			c.h.update(j, workflows.UpdateCompleteCheckpoint, workflows.CompleteCheckpointRequest{
				CheckpointID: cp.ID, CoachID: c.h.coach, NoteID: uuid.New(), Status: workflows.RAGAmber, RequestID: cp.ID})
			did = append(did, "complete "+cp.ID+" "+c.name(j))
		}
	}
	return did
}

func (c *randomCase) name(j uuid.UUID) string {
	if j == c.sentinel {
		return "sentinel"
	}
	for i, o := range c.others {
		if o == j {
			return fmt.Sprintf("journey %d", i+1)
		}
	}
	return j.String()
}

// recorded lists each journey's recorded events, for a failure's report.
func (c *randomCase) recorded() string {
	var lines []string
	for _, j := range append([]uuid.UUID{c.sentinel}, c.others...) {
		lines = append(lines, c.name(j)+": "+strings.Join(c.h.events(j), ", "))
	}
	return strings.Join(lines, "\n")
}

// checkOneLiveJourneyPerPerson: at every step, nobody has two journeys
// on their way in the intake.
func (c *randomCase) checkOneLiveJourneyPerPerson(when time.Time) {
	journeys, err := c.h.store.ListJourneys(context.Background(), c.h.intake.IntakeID)
	if err != nil {
		c.t.Fatal(err)
	}
	live := map[uuid.UUID]int{}
	for _, j := range journeys {
		if !j.State.Terminal() {
			live[j.PersonID]++
		}
	}
	for person, n := range live {
		if n > 1 {
			c.t.Errorf("%s: person %s has %d live journeys in the intake", when.UTC().Format(time.RFC3339), person, n)
		}
	}
}

// checkMessages: every message a journey's events queue is in the outbox
// exactly once. Each notice goes with its event; each reminder an event
// lists as queued, and each follow-up of an absence, is one message.
// (Session cancellations on a withdrawal are not counted here.)
func (c *randomCase) checkMessages(j uuid.UUID) {
	evs, err := c.h.store.JourneyEvents(context.Background(), j)
	if err != nil {
		c.t.Fatal(err)
	}
	// listed counts the reminders events list as queued, and the absence
	// follow-ups each absence queues (the session's "absent" reminders).
	events, listed := map[string]int{}, map[string]int{}
	for _, ev := range evs {
		events[ev.Type]++
		if ev.Type == "attendance.absent" {
			var data struct{ Item string }
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				c.t.Fatalf("%s: decoding %s: %v", c.name(j), ev.Key, err)
			}
			for _, r := range c.h.item(data.Item).Reminders {
				if r.Trigger == programme.Absent {
					listed[r.Key]++
				}
			}
		}
		if ev.Type == "reminders.queued" {
			var data struct{ Reminders []string }
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				c.t.Fatalf("%s: decoding %s: %v", c.name(j), ev.Key, err)
			}
			for _, k := range data.Reminders {
				listed[k]++
			}
		}
	}
	templates, reminders := map[string]int{}, map[string]int{}
	prefix := "journey/" + j.String() + "/"
	for _, m := range c.h.messages(j) {
		templates[m.Template]++
		key := strings.TrimPrefix(m.Key, prefix)
		if at := strings.LastIndex(key, "@"); at > 0 && listed[key[:at]] > 0 {
			reminders[key[:at]]++
		}
	}
	notices := map[string]int{
		"offer":                    events["offer.made"],
		"application-unsuccessful": events["application.rejected"] + events["application.not_selected"],
		"intake-started":           events["programme.scheduled"],
		"completion":               events["journey.completed"],
		"non-completion":           events["journey.not_completed"],
	}
	for template, want := range notices {
		if templates[template] != want {
			c.t.Errorf("%s: %d %q messages for %d events that send one", c.name(j), templates[template], template, want)
		}
	}
	for k, want := range listed {
		if reminders[k] != want {
			c.t.Errorf("%s: reminder %s queued %d times by events, %d in the outbox", c.name(j), k, want, reminders[k])
		}
	}
}

// checkPlaces: at every step, the intake has never offered or given more
// places than it has.
func (c *randomCase) checkPlaces(when time.Time) {
	v, err := c.h.env.QueryWorkflow(workflows.QueryIntakeState)
	if err != nil {
		return // the intake has finished: nothing more to offer
	}
	var view workflows.IntakeView
	if err := v.Get(&view); err != nil {
		c.t.Errorf("decoding the intake's state: %v", err)
		return
	}
	if view.PlacesTaken > view.Capacity {
		c.t.Errorf("%s: %d places offered or taken of %d", when.UTC().Format(time.RFC3339), view.PlacesTaken, view.Capacity)
	}
}

// checkRecord checks a journey's record in the store and returns its last
// status: every event recorded once, none lost, in the journey's order;
// nothing after it ended; every status change one the lifecycle allows.
func (h *harness) checkRecord(j uuid.UUID, name string) workflows.Status {
	h.t.Helper()
	evs, err := h.store.JourneyEvents(context.Background(), j)
	if err != nil {
		h.t.Fatal(err)
	}
	var status workflows.Status
	for i, ev := range evs {
		if want := fmt.Sprintf("journey/%s/%d", j, i+1); ev.Key != want {
			h.t.Errorf("%s: event %d has key %s, want %s", name, i+1, ev.Key, want)
		}
		if status.Terminal() {
			h.t.Errorf("%s: %s recorded after the journey ended %s", name, ev.Type, status)
		}
		next := ev.Snapshot.State
		if next != status && status != "" && !workflows.CanMove(status, next) {
			h.t.Errorf("%s: moved from %s to %s (%s), which the lifecycle does not allow", name, status, next, ev.Type)
		}
		status = next
	}
	return status
}

// checkInvariants checks, once the intake has finished (run checks that),
// what every journey's record must show.
func (c *randomCase) checkInvariants() {
	t := c.t
	for _, j := range append([]uuid.UUID{c.sentinel}, c.others...) {
		status := c.h.checkRecord(j, c.name(j))
		c.checkMessages(j)
		// Every journey ends, none stranded (an acceptance the start missed).
		if !status.Terminal() {
			t.Errorf("%s is still %s after the intake finished", c.name(j), status)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A journey ends deferred if and only if the later intake took it,
	// and names the journey it took: never lost, never doubled.
	for _, j := range append([]uuid.UUID{c.sentinel}, c.others...) {
		taken, handed := c.handedOver[j]
		evs, err := c.h.store.JourneyEvents(context.Background(), j)
		if err != nil {
			t.Fatal(err)
		}
		var deferred []uuid.UUID
		for _, ev := range evs {
			if ev.Type == "journey.deferred" {
				var data struct {
					ToJourney uuid.UUID `json:"to_journey"`
				}
				if err := json.Unmarshal(ev.Data, &data); err != nil {
					t.Fatalf("%s: decoding %s: %v", c.name(j), ev.Key, err)
				}
				deferred = append(deferred, data.ToJourney)
			}
		}
		switch {
		case handed && (len(deferred) != 1 || deferred[0] != taken):
			t.Errorf("%s: the later intake took journey %s, and this journey recorded deferrals to %v", c.name(j), taken, deferred)
		case !handed && len(deferred) != 0:
			t.Errorf("%s: deferred to %v, which the later intake never took", c.name(j), deferred)
		}
	}
}
