package apperr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
)

// Every face maps an error through Classify: each error's kind, and the
// reason a person is shown (capitalised, without the kind's prefix).
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err    error
		kind   apperr.Kind
		reason string
	}{
		{fmt.Errorf("%w: the intake needs a name", apperr.ErrInvalid), apperr.KindInvalid, "The intake needs a name"},
		{fmt.Errorf("deciding: %w: journey is withdrawn", apperr.ErrRejected), apperr.KindRefused, "Deciding: journey is withdrawn"},
		{fmt.Errorf("%w: no intake 42", apperr.ErrNotFound), apperr.KindNotFound, "No intake 42"},
		{apperr.ErrNotFound, apperr.KindNotFound, "Not found"},
		{fmt.Errorf("%w: ", apperr.ErrRejected), apperr.KindRefused, "Rejected"}, // a workflow's refusal without a message
		{fmt.Errorf("asking: %w", serviceerror.NewUnavailable("frontend down")), apperr.KindUnavailable, ""},
		{errors.New("a bug"), apperr.KindUnexpected, ""},
	} {
		kind, reason := apperr.Classify(context.Background(), c.err)
		if kind != c.kind || reason != c.reason {
			t.Errorf("Classify(%q) = %v, %q; want %v, %q", c.err, kind, reason, c.kind, c.reason)
		}
	}
	ended, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ended.Done()
	if kind, _ := apperr.Classify(ended, errors.New("waiting for the workflow")); kind != apperr.KindUnavailable {
		t.Errorf("a request whose time ran out: %v, want KindUnavailable", kind)
	}
}
