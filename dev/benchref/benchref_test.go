package benchref

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// In a synctest bubble time moves only when every goroutine waits, so the
// latencies are exactly what each operation slept.
func TestClosedLoopMeasuresWhatTheOperationsTook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		r, err := ClosedLoop(context.Background(), 100, 1, func(context.Context) error {
			time.Sleep(time.Duration(calls.Add(1)) * time.Millisecond) // 1 ms, 2 ms … 100 ms
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.N != 100 || r.Elapsed != 5050*time.Millisecond {
			t.Errorf("N %d in %s, want 100 in 5.05s", r.N, r.Elapsed)
		}
		if r.P50 != 50*time.Millisecond || r.P99 != 99*time.Millisecond {
			t.Errorf("p50 %s p99 %s, want 50ms and 99ms", r.P50, r.P99)
		}
		if got := r.PerSecond(); got < 19.8 || got > 19.81 {
			t.Errorf("%.3f/s, want 100 in 5.05 s", got)
		}
	})
}

// Percentiles are by nearest rank: of 20, the p99 is the slowest.
func TestClosedLoopPercentilesOfFew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		r, err := ClosedLoop(context.Background(), 20, 1, func(context.Context) error {
			time.Sleep(time.Duration(calls.Add(1)) * time.Millisecond)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.P50 != 10*time.Millisecond || r.P99 != 20*time.Millisecond {
			t.Errorf("p50 %s p99 %s of 1..20 ms, want 10ms and 20ms", r.P50, r.P99)
		}
	})
}

func TestClosedLoopRunsClientsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := ClosedLoop(context.Background(), 100, 10, func(context.Context) error {
			time.Sleep(10 * time.Millisecond)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.Elapsed != 100*time.Millisecond {
			t.Errorf("100 operations of 10 ms by 10 clients took %s, want 100ms", r.Elapsed)
		}
	})
}

func TestClosedLoopStopsAtTheFirstError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("refused")
		var calls atomic.Int64
		_, err := ClosedLoop(context.Background(), 100, 4, func(ctx context.Context) error {
			if calls.Add(1) == 3 {
				return broken
			}
			time.Sleep(time.Millisecond)
			return ctx.Err()
		})
		if !errors.Is(err, broken) {
			t.Fatalf("err %v, want the operation's", err)
		}
		if n := calls.Load(); n > 8 {
			t.Errorf("%d operations ran after the error", n-3)
		}
	})
}

func TestMetricsGiveOurRatiosToEachReference(t *testing.T) {
	ours := Result{N: 50, Elapsed: time.Second, P50: 10 * time.Millisecond, P99: 30 * time.Millisecond}
	state := Result{N: 100, Elapsed: time.Second, P50: 5 * time.Millisecond, P99: 20 * time.Millisecond}
	local := Result{N: 200, Elapsed: 2 * time.Second, P50: 6 * time.Millisecond, P99: 60 * time.Millisecond}
	got := map[string]float64{}
	for _, m := range Metrics(ours, Reference{StateUpdate, state}, Reference{LocalUpdate, local}) {
		got[m.Unit] = m.Value
	}
	want := map[string]float64{
		"ops/s": 50, "p50-ms": 10, "p99-ms": 30,
		"state-ops/s": 100, "state-p50-ms": 5, "state-p99-ms": 20, "x-state-ops": 0.5, "x-state-p99": 1.5,
		"local-ops/s": 100, "local-p50-ms": 6, "local-p99-ms": 60, "x-local-ops": 0.5, "x-local-p99": 0.5,
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
	for unit, v := range want {
		if got[unit] != v {
			t.Errorf("%s = %v, want %v", unit, got[unit], v)
		}
	}
}

// A herd's rate runs from the instant it was due to the last of it.
func TestLagsFromTheInstantDue(t *testing.T) {
	due := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var at []time.Time
	for i := 100; i >= 1; i-- { // in any order
		at = append(at, due.Add(time.Duration(i)*10*time.Millisecond))
	}
	r, err := Lags(due, at)
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 100 || r.Elapsed != time.Second || r.P50 != 500*time.Millisecond || r.P99 != 990*time.Millisecond {
		t.Errorf("got %+v; want 100 in 1s, p50 500ms, p99 990ms", r)
	}
	if _, err := Lags(due, []time.Time{due.Add(-time.Second)}); err == nil {
		t.Error("a herd done before it was due was measured")
	}
	if _, err := Lags(due, nil); err == nil {
		t.Error("a herd of none was measured")
	}
}
