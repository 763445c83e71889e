package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/infuse-cymru/journeys/internal/store"
)

// DefaultDueLimit is the limit of DueMessages and ClaimDue when the caller gives none.
const DefaultDueLimit = 100

// DueLimit is the limit DueMessages and ClaimDue apply for the caller's limit.
func DueLimit(limit int) int {
	if limit <= 0 {
		return DefaultDueLimit
	}
	return limit
}

// MaxReason is the longest failure reason the outbox keeps, in bytes; a
// longer one is cut (at a rune boundary) and marked with an ellipsis.
const MaxReason = 2000

// Reason is reason as the outbox keeps it: trimmed and at most MaxReason bytes.
func Reason(reason string) string {
	reason = strings.TrimSpace(reason)
	if len(reason) <= MaxReason {
		return reason
	}
	cut := MaxReason - len("…")
	for cut > 0 && !isRuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Update is one delivery-state change of an outbox row, for Transition.
type Update struct {
	What string // "marking sent", "deferring", … for errors
	Key  string
	// Owner is the deliverer making the change, which UPDATE refuses
	// while another owner's claim is on the row; "" for MarkSent, which
	// any deliverer may make.
	Owner string
	// Apply runs the UPDATE, which changes the row only if its status
	// (and claim) allows, and reports whether it changed one.
	Apply func() (bool, error)
	// State reads the row's status and who claimed it, "" for nobody
	// (sql.ErrNoRows if there is no row): the MessageState query.
	State func() (store.MessageStatus, string, error)
	// Done are the statuses in which an unchanged row means the change was
	// already made (or is not needed): no error.
	Done []store.MessageStatus
}

// applyTransition is the body of a Mark* or Defer transaction: it applies u, and
// when no row changed tells why: no such message (store.ErrNotFound), a
// status listed in u.Done (nil), another owner's claim or any other status
// (store.ErrConflict).
func applyTransition(u Update) error {
	if strings.TrimSpace(u.Key) == "" {
		return fmt.Errorf("%s: %w: message key is missing", u.What, store.ErrInvalid)
	}
	changed, err := u.Apply()
	if err != nil {
		return fmt.Errorf("%s message %q: %w", u.What, u.Key, err)
	}
	if changed {
		return nil
	}
	status, holder, err := u.State()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s message %q: %w", u.What, u.Key, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s message %q: %w", u.What, u.Key, err)
	case slices.Contains(u.Done, status):
		return nil
	case status == store.MessageQueued && holder != "" && holder != u.Owner:
		return fmt.Errorf("%s message %q: %w: it is claimed by %s, which decides what becomes of it "+
			"(a deliverer whose claim ran out leaves the message to the one that took it over)",
			u.What, u.Key, store.ErrConflict, holder)
	}
	return fmt.Errorf("%s message %q: %w: it is %s", u.What, u.Key, store.ErrConflict, status)
}

// CheckReason refuses an empty failure reason: it is what coordinators read.
func CheckReason(what, key, reason string) error {
	if Reason(reason) == "" {
		return fmt.Errorf("%s message %q: %w: a reason is required", what, key, store.ErrInvalid)
	}
	return nil
}

// CheckTime refuses a zero time for what.
func CheckTime(what, key, field string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%s message %q: %w: %s is missing", what, key, store.ErrInvalid, field)
	}
	return nil
}
