package starter_test

import (
	"context"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/infuse-cymru/journeys/starter"
)

// Temporal saying it is unavailable is worth a retry later; its own
// deadline, a refusal or a missing workflow are not.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		what string
		err  error
		want bool
	}{
		{"Temporal unavailable", fmt.Errorf("updating: %w", serviceerror.NewUnavailable("shutting down")), true},
		{"Temporal's deadline", serviceerror.NewDeadlineExceeded("too slow"), false},
		{"the caller's deadline", context.DeadlineExceeded, false},
		{"a refusal", fmt.Errorf("%w: checkpoint closed", starter.ErrRejected), false},
		{"no such workflow", serviceerror.NewNotFound("no such workflow"), false},
	} {
		if got := starter.Unavailable(c.err); got != c.want {
			t.Errorf("%s: Unavailable = %v, want %v", c.what, got, c.want)
		}
	}
}
