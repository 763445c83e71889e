package main

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// atOnce runs the command lines at the same moment, each on a goroutine of
// its own released together, as two terminals (or a person and a script
// retrying) would, and returns their results in order.
func (w *world) atOnce(lines ...[]string) []result {
	w.t.Helper()
	out := make([]result, len(lines))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, args := range lines {
		wg.Go(func() {
			<-release
			out[i] = w.infuse(args...)
		})
	}
	close(release)
	wg.Wait()
	return out
}

// intakeCounts is what the intake's own workflow counts of its journeys,
// by status, leaving out those it counts none of: the commands show the
// store's projection, which may lag behind it.
func (w *world) intakeCounts(intake string) map[workflows.Status]int {
	w.t.Helper()
	id, err := uuid.Parse(intake)
	if err != nil {
		w.t.Fatal(err)
	}
	var counts map[workflows.Status]int
	v, err := w.temporal.GetDefaultClient().QueryWorkflow(context.Background(), workflows.IntakeWorkflowID(id), "", workflows.QueryIntakeCounts)
	if err == nil {
		err = v.Get(&counts)
	}
	if err != nil {
		w.t.Fatalf("asking intake %s for its counts: %v", intake, err)
	}
	maps.DeleteFunc(counts, func(_ workflows.Status, n int) bool { return n == 0 })
	return counts
}

// Issue 8, through the command line: the same deferral and the same
// withdrawal run twice at the same moment (two commands, so two requests)
// each leave one outcome, and `intake create` run again with the same
// --request-id, at once or as a later retry, creates one intake.
func TestTheSameCommandTwiceAtOnce(t *testing.T) {
	w := newWorld(t)
	rfc := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	w.must("people", "import", w.writeFile("people.csv", peopleFile))
	create := func(name, closes, starts string, more ...string) []string {
		return append([]string{"--json", "intake", "create", "--name", name, "--opens", rfc(-time.Hour), "--closes", closes,
			"--starts", starts, "--coordinator", "megan@example.org"}, more...)
	}
	own := w.jsonField("id", create("Cohort Own", rfc(48*time.Hour), time.Now().AddDate(0, 0, 4).Format("2006-01-02"))[1:]...)
	later := w.jsonField("id", create("Cohort Later", rfc(30*24*time.Hour), time.Now().AddDate(0, 0, 40).Format("2006-01-02"))[1:]...)
	for _, in := range []string{own, later} {
		w.eventually([]string{": open\n"}, "intake", "dashboard", in)
	}
	journey := w.jsonField("journey", "apply", "--intake", own, "--person", "carys@example.org", "--coach", "elin@example.org")
	w.must("decide", "--journey", journey, "offer")
	w.eventually([]string{"offer.made"}, "journey", "show", journey)
	w.must("offer", "accept", journey)

	// Two deferrals of one journey at once (the report: the later
	// intake got two journeys). Each either moves the participant, both
	// naming the one new journey, or is refused saying why.
	deferral := []string{"--json", "journey", "defer", journey, "--to", later}
	var moved string
	for _, r := range w.atOnce(deferral, deferral) {
		switch r.code {
		case exitOK:
			var got struct {
				NewJourney string `json:"newJourney"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.NewJourney == "" {
				t.Fatalf("a deferral's answer: %v\n%s", err, r.stdout)
			}
			if moved != "" && moved != got.NewJourney {
				t.Errorf("the two deferrals made two journeys, %s and %s", moved, got.NewJourney)
			}
			moved = got.NewJourney
		case exitRejected:
			if !strings.Contains(r.stderr, "defer") {
				t.Errorf("a refused deferral does not say why: %q", r.stderr)
			}
			t.Logf("the other deferral: %s", r.stderr)
		default:
			t.Errorf("a deferral: exit %d: %s", r.code, r.stderr)
		}
	}
	if moved == "" {
		t.Fatal("neither deferral moved the participant")
	}
	// Both commands have answered and the journey has ended deferred: any
	// journey either handed to the later intake is there by now.
	w.eventually([]string{"journey.deferred"}, "journey", "show", journey)
	if counts := w.intakeCounts(later); !maps.Equal(counts, map[workflows.Status]int{contract.StatusAccepted: 1}) {
		t.Errorf("the later intake counts %v, want the one deferred journey accepted", counts)
	}
	w.eventually([]string{moved}, "intake", "dashboard", later)
	var dash wire.IntakeDashboard
	w.jsonInto(&dash, "intake", "dashboard", later)
	if len(dash.Rows) != 1 || dash.Rows[0].JourneyID.String() != moved {
		t.Errorf("the later intake's dashboard lists %+v, want only journey %s", dash.Rows, moved)
	}

	// Two withdrawals of the new journey at once, each with its note: one
	// withdraws; the other does too or is refused saying why.
	withdraw := []string{"journey", "withdraw", moved, "--reason", "personal", "--note", "Caring for a parent.", "--by", "megan@example.org"}
	withdrawn := 0
	for _, r := range w.atOnce(withdraw, withdraw) {
		switch {
		case r.code == exitOK:
			withdrawn++
		case (r.code == exitRejected || r.code == exitNotFound) && (strings.Contains(r.stderr, "withdrawn") || strings.Contains(r.stderr, "ended")):
			t.Logf("the other withdrawal: exit %d: %s", r.code, r.stderr)
		default:
			t.Errorf("a withdrawal: exit %d: %s", r.code, r.stderr)
		}
	}
	if withdrawn == 0 {
		t.Error("neither withdrawal withdrew the participant")
	}
	w.eventually([]string{"journey.withdrawn"}, "journey", "show", moved)
	var d wire.JourneyDetail
	w.jsonInto(&d, "journey", "show", moved)
	n := 0
	for _, e := range d.Timeline {
		if e.Event == "journey.withdrawn" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("journey.withdrawn recorded %d times, want once: %+v", n, d.Timeline)
	}
	// A refused withdrawal takes its note back: a note for each withdrawal
	// that answered done, none for one refused.
	st, err := sqlitestore.Open(context.Background(), w.database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if notes, err := st.NotesOfJourney(context.Background(), uuid.MustParse(moved)); err != nil || len(notes) != withdrawn {
		t.Errorf("the withdrawn journey has %d notes (%v), want %d, one for each withdrawal done", len(notes), err, withdrawn)
	}

	// `intake create` with a --request-id: twice at once and once more
	// later (a script retrying after a timeout) is one intake; another
	// --request-id is another intake, though its details are the same.
	closes, starts := rfc(72*time.Hour), time.Now().AddDate(0, 0, 7).Format("2006-01-02")
	retried := create("Cohort Retried", closes, starts, "--request-id", "nightly-2027-01")
	var ids []string
	for _, r := range w.atOnce(retried, retried) {
		var in store.Intake
		if err := json.Unmarshal([]byte(r.stdout), &in); r.code != exitOK || err != nil {
			t.Fatalf("intake create: exit %d (%v): %s%s", r.code, err, r.stdout, r.stderr)
		}
		ids = append(ids, in.ID.String())
	}
	ids = append(ids, w.jsonField("id", retried[1:]...))
	if ids[0] != ids[1] || ids[0] != ids[2] {
		t.Errorf("one --request-id created intakes %v, want one", ids)
	}
	other := w.jsonField("id", create("Cohort Retried", closes, starts, "--request-id", "nightly-2027-02")[1:]...)
	if other == ids[0] {
		t.Errorf("another --request-id answered with the same intake %s", other)
	}
	var intakes []wire.IntakeSummary
	w.jsonInto(&intakes, "intake", "list")
	named := 0
	for _, in := range intakes {
		if in.Name == "Cohort Retried" {
			named++
		}
	}
	if named != 2 {
		t.Errorf("%d intakes named Cohort Retried, want 2 (one per --request-id)", named)
	}
	w.eventually([]string{": open\n"}, "intake", "dashboard", ids[0])
	// The same --request-id for an intake with other details is refused,
	// saying which flag to change.
	w.expect(exitRejected, []string{"--request-id", "nightly-2027-01", "other details"},
		create("Cohort Renamed", closes, starts, "--request-id", "nightly-2027-01")[1:]...)
}
