package starter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WaitFor polls done until it is true, for at most a minute. Workflows answer updates at once but
// record their effects (and tell each other) a moment later.
func WaitFor(ctx context.Context, what string, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		ok, err := done()
		if ok && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				err = ctx.Err()
			}
			return fmt.Errorf("waiting for %s (is the worker running?): %w", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
