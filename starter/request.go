package starter

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// requestKey is the context key of the request ID.
type requestKey struct{}

// WithRequestID names the request ctx carries out: the same ID when a
// request is retried (an HTTP client's Idempotency-Key, with who sent it;
// one per CLI command). Every change the request makes is then sent to
// Temporal under an update ID derived from it, and what it creates gets an
// ID derived from it, so a retry finds what the first attempt did instead
// of doing it again: Temporal answers an update it has seen with its first
// answer. It remembers update IDs for the run that saw them; a retry that
// reaches the next run of a workflow that continued as new meets the
// workflow's own checks instead (an application's journey ID, a
// checkpoint's or task's request ID, a decision already taken).
func WithRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestID is the ID WithRequestID gave ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

// updateID is the Temporal update ID of the update name with arg sent for
// the request ctx carries: explicit if given (a checkpoint's or a task's
// request ID), else derived from the request's ID and what is asked (one
// request may send several updates to one workflow, such as an import's
// applications), else none (Temporal makes one: the update is not
// deduplicated).
func updateID(ctx context.Context, explicit, name string, arg any) string {
	if explicit != "" {
		return explicit
	}
	id := RequestID(ctx)
	if id == "" {
		return ""
	}
	asked, err := json.Marshal(arg)
	if err != nil {
		return "" // not deduplicated, rather than wrongly
	}
	sum := sha256.Sum256(asked)
	return fmt.Sprintf("%s/%s/%x", name, id, sum[:8])
}

// intakeIDs names the intakes NewIntakeID derives from request IDs.
var intakeIDs = uuid.MustParse("0b6c1f4e-2a57-4d0e-8c43-7e9a5d2b1f60")

// NewIntakeID is the ID of the intake a request creates: derived from the
// request's ID, so a retried creation names the same intake; random when
// the request has none.
func NewIntakeID(ctx context.Context) uuid.UUID {
	if id := RequestID(ctx); id != "" {
		return uuid.NewSHA1(intakeIDs, []byte(id))
	}
	return uuid.New()
}

// ApplicationJourneyID is the journey an application starts: derived from
// the request's ID, so a retry of the request names the same journey and
// gets the first answer (a second application, another request, is
// refused as one); random when the request has none.
func ApplicationJourneyID(ctx context.Context, intakeID uuid.UUID) uuid.UUID {
	if id := RequestID(ctx); id != "" {
		return uuid.NewSHA1(intakeID, []byte(id))
	}
	return uuid.New()
}
