package benchref

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/logging"
)

// A bare workflow continues as new when the server suggests it, so a
// reference can take more updates than one run may (2,000 by default):
// here the server suggests it after a few dozen events, and every update
// is answered across the runs.
func TestBareUpdatesContinueAsNewWhenSuggested(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tt := testenv.NewSuggestingServer(t, logging.NewTemporalLogger(zap.NewNop()), testenv.SuggestingNamespaceBenchref)
	w, err := Start(tt.GetDefaultClient())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	u, err := w.Updaters(ctx, StateUpdate, 1)
	if err != nil {
		t.Fatal(err)
	}
	id := <-u.ids
	u.ids <- id
	defer u.Close()
	const updates = 30 // five events each: several times the suggestion's 40
	if r, err := ClosedLoop(ctx, updates, 1, u.Update); err != nil || r.N != updates {
		t.Fatalf("%+v, %v; want %d updates answered", r, err, updates)
	}
	runs := 0
	for runID := ""; ; runs++ {
		it := tt.GetDefaultClient().GetWorkflowHistory(ctx, id, runID, false, 0)
		first, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if runID = first.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId(); runID == "" {
			break
		}
	}
	if runs == 0 {
		t.Errorf("the bare workflow took %d updates in one run: it does not continue as new when the server suggests it", updates)
	}
}
