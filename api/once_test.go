package api

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// atOnce sends the calls at the same moment, each from a goroutine of its
// own released together, and returns their answers in order. (do reports
// an answer /openapi.json does not describe with t.Errorf, which is safe
// off the test's goroutine; the answers are checked back on it.)
func (w *world) atOnce(t *testing.T, calls ...call) []*httptest.ResponseRecorder {
	t.Helper()
	out := make([]*httptest.ResponseRecorder, len(calls))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			<-release
			out[i] = w.do(t, c)
		})
	}
	close(release)
	wg.Wait()
	return out
}

// actedOnce checks the answers to copies of c sent at once under its one
// Idempotency-Key: exactly one copy acted, answering want; every other was
// told that one is still being handled (409 with Retry-After) or given its
// answer again; and a retry once all have answered gets that answer again,
// marked as replayed. It returns the answer of the copy that acted.
func (w *world) actedOnce(t *testing.T, c call, copies []*httptest.ResponseRecorder, want int) *httptest.ResponseRecorder {
	t.Helper()
	var acted *httptest.ResponseRecorder
	var replays []*httptest.ResponseRecorder
	busy := 0
	for _, rec := range copies {
		switch {
		case rec.Code == http.StatusConflict && rec.Header().Get("Retry-After") != "":
			busy++
			if p := checkProblem(t, rec, http.StatusConflict); !strings.Contains(p.Detail, "still being handled") {
				t.Errorf("a copy sent while the first was handled: %q", p.Detail)
			}
		case rec.Header().Get(idempotency.ReplayedHeader) == "true":
			replays = append(replays, rec)
		case acted == nil:
			acted = rec
		default:
			t.Fatalf("two copies of one request acted: %d %s and %d %s", acted.Code, acted.Body, rec.Code, rec.Body)
		}
	}
	if acted == nil {
		t.Fatalf("no copy of the request acted")
	}
	if acted.Code != want {
		t.Fatalf("the copy that acted: %d, want %d: %s", acted.Code, want, acted.Body)
	}
	t.Logf("of %d copies sent at once: one acted, %d found it still being handled, %d got its answer", len(copies), busy, len(replays))
	replays = append(replays, w.do(t, c))
	for _, rec := range replays {
		if rec.Code != acted.Code || rec.Body.String() != acted.Body.String() || rec.Header().Get(idempotency.ReplayedHeader) != "true" {
			t.Errorf("a replay: %d %v %s, want the first answer %d %s", rec.Code, rec.Header(), rec.Body, acted.Code, acted.Body)
		}
	}
	return acted
}

// total is the number of journeys the intake's own workflow holds.
func (w *world) total(t *testing.T, intake uuid.UUID) int {
	t.Helper()
	counts, err := w.counts(t, intake)
	must(t, err)
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// nonZero is counts without the statuses it counts none of.
func nonZero(counts map[workflows.Status]int) map[workflows.Status]int {
	out := maps.Clone(counts)
	maps.DeleteFunc(out, func(_ workflows.Status, n int) bool { return n == 0 })
	return out
}

// waitOpen waits until the intake's window has opened (a moment after its
// workflow starts), so the first application sent is taken.
func (w *world) waitOpen(t *testing.T, intake uuid.UUID) {
	t.Helper()
	eventually(t, "intake "+intake.String()+" to open", func() (bool, any) {
		in, err := w.st.GetIntake(t.Context(), intake)
		return err == nil && in.Status == store.IntakeOpen, fmt.Sprint(in.Status, err)
	})
}

// started are the statuses of a journey whose intake has started it:
// awaiting_start, and whatever may follow.
var startedStates = []contract.Status{contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting,
	contract.StatusPaused, contract.StatusCompleted, contract.StatusNotCompleted}

// Issue 8: two identical applications, deferrals and withdrawals, and
// acceptances racing the intake's start, each sent through the API at the
// same moment to a real Temporal server running the real worker, leave
// exactly one correct outcome. The journeys plan in real time (their
// programme is days away): only their states matter here.
func TestTheSameRequestTwiceAtOnce(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	w := newSystem(t, activities.ProgrammePlanner{})
	now := time.Now()
	own := w.createIntake(t, "Cohort Once", now, now.Add(time.Hour), now.Add(72*time.Hour))
	later := w.createIntake(t, "Cohort Later", now, now.Add(30*24*time.Hour), now.Add(40*24*time.Hour))
	people := w.participants(t, "Bethan", "Cerys")
	bethan, cerys := people[0], people[1]
	w.waitOpen(t, own)
	w.waitOpen(t, later)

	var journey, deferred uuid.UUID
	t.Run("one application sent twice under one key", func(t *testing.T) {
		before := w.total(t, own)
		c := call{method: "POST", path: "/api/intakes/" + own.String() + "/applications", body: `{}`, token: bethan.token, key: uuid.NewString()}
		var a Applied
		decode(t, w.actedOnce(t, c, w.atOnce(t, c, c), http.StatusCreated), http.StatusCreated, &a)
		journey = a.JourneyID
		if n := w.total(t, own) - before; n != 1 {
			t.Errorf("the intake holds %d more journeys, want Bethan's one", n)
		}
	})

	t.Run("two applications for one person under two keys", func(t *testing.T) {
		before := w.total(t, own)
		path := "/api/intakes/" + own.String() + "/applications"
		recs := w.atOnce(t,
			call{method: "POST", path: path, body: `{}`, token: cerys.token, key: uuid.NewString()},
			call{method: "POST", path: path, body: fmt.Sprintf(`{"personId":%q}`, cerys.id), token: w.coordinator.token, key: uuid.NewString()})
		taken := 0
		for _, rec := range recs {
			switch rec.Code {
			case http.StatusCreated:
				taken++
			default:
				if p := checkProblem(t, rec, http.StatusConflict); !strings.Contains(p.Detail, "already applied") {
					t.Errorf("the second application: %q, want it refused as already applied", p.Detail)
				}
			}
		}
		if taken != 1 {
			t.Errorf("%d of the two applications taken, want 1: %s; %s", taken, recs[0].Body, recs[1].Body)
		}
		if n := w.total(t, own) - before; n != 1 {
			t.Errorf("the intake holds %d more journeys, want one of Cerys's", n)
		}
	})

	t.Run("one deferral sent twice under one key", func(t *testing.T) {
		if journey == uuid.Nil {
			t.Skip("no journey: the application failed")
		}
		w.decide(t, journey, workflows.DecisionOffer)
		w.accept(t, journey, bethan)
		c := call{method: "POST", path: "/api/journeys/" + journey.String() + "/defer", body: fmt.Sprintf(`{"intakeId":%q}`, later),
			token: w.coordinator.token, key: uuid.NewString()}
		var d Deferred
		decode(t, w.actedOnce(t, c, w.atOnce(t, c, c), http.StatusOK), http.StatusOK, &d)
		deferred = d.JourneyID
		// Once the journey has handed itself over and ended deferred,
		// every copy that could have reached the later intake has.
		w.waitFor(t, journey, func(s store.JourneySnapshot) bool { return s.State == contract.StatusDeferred })
		w.counted(t, later, contract.StatusAccepted, 1)
		if counts, err := w.counts(t, later); err != nil || !maps.Equal(nonZero(counts), map[workflows.Status]int{contract.StatusAccepted: 1}) {
			t.Errorf("the later intake counts %v (%v), want the one deferred journey", counts, err)
		}
		w.waitFor(t, deferred, func(s store.JourneySnapshot) bool {
			return s.IntakeID == later && s.State == contract.StatusAccepted
		})
	})

	t.Run("one withdrawal sent twice under one key", func(t *testing.T) {
		if deferred == uuid.Nil {
			t.Skip("no deferred journey to withdraw")
		}
		c := call{method: "POST", path: "/api/journeys/" + deferred.String() + "/withdraw", body: `{"reason":"personal","note":"Caring for a parent."}`,
			token: w.coordinator.token, key: uuid.NewString()}
		var done Done
		decode(t, w.actedOnce(t, c, w.atOnce(t, c, c), http.StatusOK), http.StatusOK, &done)
		w.waitFor(t, deferred, func(s store.JourneySnapshot) bool { return s.State == contract.StatusWithdrawn })
		if n := w.countEvents(t, deferred, "journey.withdrawn"); n != 1 {
			t.Errorf("%d journey.withdrawn events, want 1", n)
		}
		if r := w.record(t, deferred); r.notes != 1 {
			t.Errorf("%d withdrawal notes, want 1", r.notes)
		}
	})

	t.Run("acceptances racing the start", func(t *testing.T) {
		w.testAcceptancesRacingTheStart(t, now)
	})
}

// testAcceptancesRacingTheStart: three participants accept their offers
// at the moment the coordinator starts the intake (a fourth accepted
// before, so the start is never refused for want of anyone). Whichever
// comes first, each acceptance has one outcome: taken, and the journey
// is started with the others and counted so by the intake; or refused,
// and the journey is not selected. None is left accepted in an intake
// that has started.
func (w *world) testAcceptancesRacingTheStart(t *testing.T, now time.Time) {
	race := w.createIntake(t, "Cohort Race", now, now.Add(time.Hour), now.Add(72*time.Hour))
	people := w.participants(t, "Dylan", "Eirlys", "Gethin", "Heledd")
	first, racers := people[0], people[1:]
	journeys := map[uuid.UUID]who{}
	for _, p := range people {
		j := w.apply(t, race, p, `{}`)
		w.decide(t, j, workflows.DecisionOffer)
		journeys[j] = p
	}
	var early uuid.UUID
	calls := []call{w.startCall(race)}
	var raced []uuid.UUID
	for j, p := range journeys {
		if p == first {
			early = j
			w.accept(t, j, p)
			continue
		}
		raced = append(raced, j)
		calls = append(calls, acceptCall(j, p))
	}
	if len(raced) != len(racers) {
		t.Fatalf("%d racing journeys, want %d", len(raced), len(racers))
	}
	w.counted(t, race, contract.StatusAccepted, 1)

	recs := w.atOnce(t, calls...)
	var st wire.Started
	decode(t, recs[0], http.StatusOK, &st)
	t.Logf("the intake counted, as it started: %v", st.Counts)
	want := map[workflows.Status]int{contract.StatusAwaitingStart: 1}
	for i, j := range raced {
		var state workflows.Status
		switch rec := recs[i+1]; rec.Code {
		case http.StatusOK:
			// Taken: started with the rest.
			w.waitFor(t, j, func(s store.JourneySnapshot) bool { return slices.Contains(startedStates, s.State) })
			state = contract.StatusAwaitingStart
		case http.StatusConflict:
			// Refused: the start closed the offer first.
			checkProblem(t, rec, http.StatusConflict)
			w.waitFor(t, j, func(s store.JourneySnapshot) bool { return s.State == contract.StatusNotSelected })
			state = contract.StatusNotSelected
		default:
			t.Errorf("an acceptance racing the start: %d %s", rec.Code, rec.Body)
			continue
		}
		want[state]++
		t.Logf("%s's acceptance racing the start: %d, journey %s", journeys[j].name, recs[i+1].Code, state)
	}
	w.waitFor(t, early, func(s store.JourneySnapshot) bool { return slices.Contains(startedStates, s.State) })
	// The intake's own count agrees with its journeys: nobody it still
	// thinks accepted or offered.
	eventually(t, fmt.Sprintf("the intake to count %v", want), func() (bool, any) {
		counts, err := w.counts(t, race)
		return err == nil && maps.Equal(nonZero(counts), want), fmt.Sprint(counts, err)
	})
}
