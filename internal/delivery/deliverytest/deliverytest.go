// Package deliverytest drives a delivery.Deliverer through weeks or months
// of its outbox on a fake clock, for tests.
package deliverytest

import (
	"context"
	"fmt"
	"time"

	"github.com/infuse-cymru/journeys/internal/delivery"
)

// Clock is a fake clock: the Deliverer reads it (delivery.Options.Now),
// and Drain sets it.
type Clock interface {
	Now() time.Time
	Set(time.Time)
}

// Result is what Drain did.
type Result struct {
	delivery.Stats     // summed over every pass
	Passes         int // DeliverDue calls
}

// Drain delivers d's outbox on clock up to until: it sets the clock to the
// next time something is due (Deliverer.NextDue), or leaves it where it is
// if that is already past, passes once (DeliverDue), and repeats until
// nothing is due by until.
//
// Rather than stepping the clock in fixed increments, where most passes
// find nothing, it passes only when something is due, at the very moment
// it falls due. Production polls, so it passes at that moment too (or
// within a poll of it): whatever the Policy decides then, it would decide
// in production, and a message due at 20:00 is still tried at 20:00 and
// must be held back.
//
// It gives up with an error after maxPasses, so that a bug that keeps a
// message due without delivering it cannot loop for ever.
func Drain(ctx context.Context, d *delivery.Deliverer, clock Clock, until time.Time, maxPasses int) (Result, error) {
	var r Result
	for {
		next, ok, err := d.NextDue(ctx)
		if err != nil {
			return r, err
		}
		if !ok || next.After(until) {
			return r, nil
		}
		if r.Passes == maxPasses {
			return r, fmt.Errorf("still something due at %s after %d passes", next, r.Passes)
		}
		if next.After(clock.Now()) { // never back
			clock.Set(next)
		}
		s, err := d.DeliverDue(ctx)
		r.Passes++
		r.Add(s)
		if err != nil {
			return r, fmt.Errorf("delivering at %s: %w", clock.Now(), err)
		}
	}
}
