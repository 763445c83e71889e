package scripted_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/workflows"
)

// counter is a workflow with an update "add": its validator refuses a
// negative number, its handler fails on 13, and it answers the total; and
// an update "hang" that never finishes. It ends after a day.
func counter(ctx workflow.Context) error {
	total := 0
	err := workflow.SetUpdateHandlerWithOptions(ctx, "add",
		func(ctx workflow.Context, n int) (int, error) {
			if n == 13 {
				return 0, errors.New("unlucky")
			}
			total += n
			return total, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, n int) error {
			if n < 0 {
				return errors.New("negative")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandler(ctx, "hang", func(ctx workflow.Context) error {
		return workflow.Await(ctx, func() bool { return false })
	})
	if err != nil {
		return err
	}
	return workflow.Sleep(ctx, 24*time.Hour)
}

// counterScript is a test environment running counter from 9:00 on
// 1 October 2021, as an intake's workflow, and a script of it.
func counterScript() (*testsuite.TestWorkflowEnvironment, *scripted.Script, time.Time) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	began := time.Date(2021, 10, 1, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(began)
	intake := uuid.New()
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IntakeWorkflowID(intake)})
	env.RegisterWorkflow(counter)
	env.RegisterActivity(&activities.Activities{}) // New stands in for one of them
	return env, scripted.New(env, began, intake), began
}

// Each outcome is kept where it can be read once the run is over, a step
// the workflow did not live to see is reported, and so is an update to a
// workflow that is not there.
func TestOutcomesAreKeptUntilTheRunIsOver(t *testing.T) {
	env, s, began := counterScript()

	if err := s.At(began, func() {}); !errors.Is(err, scripted.ErrBeforeStart) {
		t.Errorf("a step at the start: %v, want ErrBeforeStart", err)
	}
	var ok, refused, failed, absent, hung *scripted.Update
	at := func(when time.Time, fn func()) {
		t.Helper()
		if err := s.At(when, fn); err != nil {
			t.Fatal(err)
		}
	}
	at(began.Add(time.Hour), func() {
		ok = s.Send(uuid.Nil, "add 2", "add", 2)
		if ok.Done {
			t.Error("an update was answered before its step returned: the premise of this package is wrong")
		}
		refused = s.Send(uuid.Nil, "add -1", "add", -1)
		failed = s.Send(uuid.Nil, "add 13", "add", 13)
		absent = s.Send(uuid.New(), "to a journey that is not there", "add", 1)
		hung = s.Send(uuid.Nil, "hang", "hang")
	})
	at(began.Add(48*time.Hour), func() { t.Error("a step after the workflow ended ran") })
	env.ExecuteWorkflow(counter)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}

	if ok.Problem() != nil || ok.Value != 2 {
		t.Errorf("add 2: %v, value %v; want success with 2", ok.Problem(), ok.Value)
	}
	for u, want := range map[*scripted.Update]string{refused: "rejected: negative", failed: "failed: unlucky", absent: "failed"} {
		if err := u.Problem(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a problem saying %q", u.What, err, want)
		}
	}
	if len(s.Sent()) != 5 {
		t.Errorf("%d updates sent, want 5", len(s.Sent()))
	}
	if err := hung.Problem(); hung.Done || err == nil || !strings.Contains(err.Error(), "never completed") {
		t.Errorf("an update still running when the workflow ended: done %v, %v; want it reported as never completed", hung.Done, err)
	}
	select {
	case <-hung.Finished():
		t.Error("Finished is closed for an update that never finished")
	default:
	}
	select {
	case <-ok.Finished():
	default:
		t.Error("Finished is not closed for an update that completed")
	}
	err := s.NotRun()
	if err == nil || !strings.Contains(err.Error(), "2021-10-03T09:00:00Z never ran") {
		t.Errorf("NotRun: %v, want the step at 3 October named", err)
	}
	if p := s.Problems(); p == nil || !strings.Contains(p.Error(), "never ran") || !strings.Contains(p.Error(), "unlucky") ||
		!strings.Contains(p.Error(), "hang: never completed") {
		t.Errorf("Problems: %v, want the step that never ran, the failed updates and the one that never completed", p)
	}
}

// A script of thousands of steps (a preview of a large intake), scripted
// out of order: every step runs, at its own time, soonest first and, at
// one time, in the order scripted. The environment queues a step on a
// channel of 1,000 that nothing empties before the run, so scripting them
// all at once would block for ever.
func TestThousandsOfStepsRunInTimeOrder(t *testing.T) {
	env, s, began := counterScript()

	type run struct {
		step   int
		at, on time.Time
	}
	const steps = 2500
	var ran []run
	scripting := make(chan error, 1)
	go func() {
		for i := range steps {
			// 1,250 times a minute apart (more than the script hands
			// the environment at once), each taken by two steps, in an
			// order that goes back in time at every step but one in
			// 1,250 (the workflow lasts a day).
			at := began.Add(time.Duration(1250-i%1250) * time.Minute)
			step := func() { ran = append(ran, run{i, at, env.Now()}) }
			if i == steps-1 {
				// The first to run scripts one more, half a minute on,
				// which comes before the relay then armed; and one for
				// the clock's time, which is refused.
				step = func() {
					ran = append(ran, run{i, at, env.Now()})
					later := env.Now().Add(30 * time.Second)
					if err := s.At(later, func() { ran = append(ran, run{steps, later, env.Now()}) }); err != nil {
						t.Errorf("scripting a step from a step: %v", err)
					}
					if err := s.At(env.Now(), func() {}); !errors.Is(err, scripted.ErrBeforeStart) {
						t.Errorf("a step scripted for the clock's time: %v, want ErrBeforeStart", err)
					}
				}
			}
			if err := s.At(at, step); err != nil {
				scripting <- err
				return
			}
		}
		scripting <- nil
	}()
	select {
	case err := <-scripting:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("scripting %d steps did not return within a minute: the environment's queue is full", steps)
	}
	env.ExecuteWorkflow(counter)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := s.NotRun(); err != nil {
		t.Fatalf("some steps never ran: %.300s", err)
	}
	if len(ran) != steps+1 {
		t.Fatalf("%d steps ran, want %d", len(ran), steps+1)
	}
	for k, r := range ran {
		if !r.on.Equal(r.at) {
			t.Fatalf("step %d, for %s, ran at %s", r.step, r.at, r.on)
		}
		if k > 0 {
			p := ran[k-1]
			if r.at.Before(p.at) || (r.at.Equal(p.at) && r.step < p.step) {
				t.Fatalf("step %d (for %s) ran after step %d (for %s)", r.step, r.at, p.step, p.at)
			}
		}
	}
}
