package benchref_test

import (
	"context"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/dev/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Every bare shape answers its updates on a real server, and the fan-out
// and the starts finish: a reference that fails would leave a benchmark
// with no figure to stand beside.
func TestEveryShapeAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tt := testenv.NewServer(t)
	w, err := benchref.Start(tt.GetDefaultClient())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for _, shape := range []benchref.Shape{benchref.StateUpdate, benchref.ActivityUpdate, benchref.LocalUpdate} {
		u, err := w.Updaters(ctx, shape, 2)
		if err != nil {
			t.Fatal(err)
		}
		r, err := benchref.ClosedLoop(ctx, 4, 2, u.Update)
		u.Close()
		if err != nil || r.N != 4 {
			t.Errorf("%s: %+v, %v; want 4 updates answered", shape, r, err)
		}
	}
	if _, err := w.Updaters(ctx, "nothing", 1); err == nil {
		t.Error("a shape that does not exist was taken")
	}
	fanOut, err := w.FanOut(ctx, 3)
	if err == nil {
		err = fanOut()
	}
	if err != nil {
		t.Errorf("the fan-out to 3: %v", err)
	}
	if r, err := w.Starts(ctx, 3, 2); err != nil || r.N != 3 {
		t.Errorf("3 starts: %+v, %v", r, err)
	}
	if r, err := w.Herd(ctx, 3, 2, 2*time.Second); err != nil || r.N != 3 || r.P50 <= 0 {
		t.Errorf("a herd of 3: %+v, %v; want 3 activities run after they were due", r, err)
	}
	if _, err := w.Herd(ctx, 3, 2, -time.Second); err == nil {
		t.Error("a herd already due when it was started was measured")
	}
}
