package starter_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/infuse-cymru/journeys/starter"
)

// Every face maps an error through Classify: each error's kind, and the
// reason a person is shown (capitalised, without the kind's prefix).
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err    error
		kind   starter.Kind
		reason string
	}{
		{fmt.Errorf("%w: the intake needs a name", starter.ErrInvalid), starter.KindInvalid, "The intake needs a name"},
		{fmt.Errorf("deciding: %w: journey is withdrawn", starter.ErrRejected), starter.KindRefused, "Deciding: journey is withdrawn"},
		{fmt.Errorf("%w: no intake 42", starter.ErrNotFound), starter.KindNotFound, "No intake 42"},
		{starter.ErrNotFound, starter.KindNotFound, "Not found"},
		{fmt.Errorf("%w: ", starter.ErrRejected), starter.KindRefused, "Rejected"}, // a workflow's refusal without a message
		{fmt.Errorf("asking: %w", serviceerror.NewUnavailable("frontend down")), starter.KindUnavailable, ""},
		{errors.New("a bug"), starter.KindUnexpected, ""},
	} {
		kind, reason := starter.Classify(context.Background(), c.err)
		if kind != c.kind || reason != c.reason {
			t.Errorf("Classify(%q) = %v, %q; want %v, %q", c.err, kind, reason, c.kind, c.reason)
		}
	}
	ended, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ended.Done()
	if kind, _ := starter.Classify(ended, errors.New("waiting for the workflow")); kind != starter.KindUnavailable {
		t.Errorf("a request whose time ran out: %v, want KindUnavailable", kind)
	}
}
