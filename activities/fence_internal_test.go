package activities

import (
	"errors"
	"testing"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// A local record's fence: its first try is refused once the task that
// asked for it has been handed out again; a later try, which the SDK may
// run in a later task after waiting out a long backoff, is not refused
// for that but takes that task's fence; unseen, the fence is the asking
// task's.
func TestFenceOfALocalRecordsTries(t *testing.T) {
	asked := temporalx.TaskAttempt{Started: 21, Attempt: 2, Polls: 4}
	at := TaskPlace{Stream: "journey/x", Seq: 7, Generation: 1, Task: asked, Known: true}
	fence := func(task temporalx.TaskAttempt) int64 { return store.FenceOf(1, task.Started, task.Attempt) }
	polledAgain := temporalx.TaskAttempt{Started: 27, Attempt: 1, Polls: 5}
	heartbeat := temporalx.TaskAttempt{Started: 24, Attempt: 1, Polls: 4} // handed back with a completion
	for _, c := range []struct {
		what      string
		try       int32
		now       temporalx.TaskAttempt
		seen      bool
		wantFence int64
		stale     bool
	}{
		{"first try, the task still the latest", 1, asked, true, fence(asked), false},
		{"first try after a heartbeat's task", 1, heartbeat, true, fence(asked), false},
		{"first try, the task handed out again", 1, polledAgain, true, 0, true},
		{"a later try in a later task, after a backoff's timer", 3, polledAgain, true, fence(polledAgain), false},
		{"a later try, the client's record behind the stamp", 2, temporalx.TaskAttempt{Started: 9, Attempt: 1, Polls: 9}, true, fence(asked), false},
		{"unseen (no record of the run)", 1, temporalx.TaskAttempt{}, false, fence(asked), false},
	} {
		got, err := fenceOf(at, c.try, c.now, c.seen)
		switch {
		case c.stale && !errors.Is(err, store.ErrStaleAttempt):
			t.Errorf("%s: %+v, %v; want refused as a stale attempt", c.what, got, err)
		case !c.stale && (err != nil || got.Fence != c.wantFence || got.Stream != at.Stream || got.Seq != at.Seq):
			t.Errorf("%s: %+v, %v; want fence %x", c.what, got, err, c.wantFence)
		}
	}
}
