package workflows

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// listenProbe is a bare signalTarget: what a workflow needs of listen.
type listenProbe struct {
	listeners
	v    versions
	busy int
}

func (p *listenProbe) listening() (*listeners, versions) { return &p.listeners, p.v }
func (p *listenProbe) handling(delta int)                { p.busy += delta }

// listenWorkflow listens to "a" (a handler that takes an hour) and "b" (an
// instant one) and returns what its handlers did, in order, once five
// signals have been handled and none is left.
func listenWorkflow(ctx workflow.Context, onDemand bool) ([]string, error) {
	p := &listenProbe{v: versions{signalsStayQueued: true, listensOnDemand: onDemand}}
	var log []string
	handled := 0
	listen(ctx, p, "a", func(ctx workflow.Context, n int) error {
		log = append(log, fmt.Sprintf("a%d start", n))
		if err := workflow.Sleep(ctx, time.Hour); err != nil {
			return err
		}
		log = append(log, fmt.Sprintf("a%d end", n))
		handled++
		return nil
	})
	listen(ctx, p, "b", func(ctx workflow.Context, n int) error {
		log = append(log, fmt.Sprintf("b%d", n))
		handled++
		return nil
	})
	err := workflow.Await(ctx, func() bool { return handled == 5 && p.busy == 0 && p.pending() == 0 })
	return log, err
}

// Listening on demand handles signals as the listener coroutines before it
// did: each type one signal at a time in arrival order, one type not held
// up behind another's slow handler, a signal that cannot be decoded
// skipped, and a type whose handler went idle handled again when the next
// signal comes.
func TestListenersHandleEachTypeInTurn(t *testing.T) {
	for _, onDemand := range []bool{false, true} {
		t.Run(fmt.Sprintf("onDemand=%v", onDemand), func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			signal := func(at time.Duration, name string, v any) {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, v) }, at)
			}
			signal(time.Minute, "a", 1)
			signal(time.Minute, "a", 2)
			signal(30*time.Minute, "b", 1)
			signal(30*time.Minute, "a", "not a number")
			signal(30*time.Minute, "a", 3)
			signal(10*time.Hour, "a", 4)
			env.ExecuteWorkflow(listenWorkflow, onDemand)
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var log []string
			if err := env.GetWorkflowResult(&log); err != nil {
				t.Fatal(err)
			}
			want := []string{"a1 start", "b1", "a1 end", "a2 start", "a2 end", "a3 start", "a3 end", "a4 start", "a4 end"}
			if !slices.Equal(log, want) {
				t.Errorf("handled %q,\nwant    %q", log, want)
			}
		})
	}
}
