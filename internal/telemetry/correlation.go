package telemetry

import (
	"context"
	"crypto/rand"
	"net/http"

	"go.uber.org/zap"
)

// CorrelationHeader carries a request's correlation ID on its answer: a
// person reporting a failure quotes it, and the log lines about that
// request carry it, so an operator finds them without the error's detail
// ever reaching the caller.
const CorrelationHeader = "X-Request-Id"

type correlationKey struct{}

// WithCorrelationIDs gives every request a new random correlation ID, on
// the answer's X-Request-Id and in the request's context (CorrelationID).
// One a client sent is not taken: it could pick the ID that a failure
// tells people to quote, or reuse another request's.
func WithCorrelationIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := rand.Text()
		w.Header().Set(CorrelationHeader, id)
		withID := r.WithContext(context.WithValue(r.Context(), correlationKey{}, id))
		next.ServeHTTP(w, withID)
		// The mux inside set the pattern that matched on the copy; the
		// metrics around this read it from the original (InstrumentHTTP).
		r.Pattern = withID.Pattern
	})
}

// CorrelationID is the correlation ID of the request ctx belongs to, ""
// outside one.
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// Correlation is the log field of ctx's correlation ID.
func Correlation(ctx context.Context) zap.Field {
	return zap.String("request_id", CorrelationID(ctx))
}
