package telemetry

import (
	"context"
	"crypto/rand"
	"net/http"
	"regexp"

	"go.uber.org/zap"
)

// CorrelationHeader carries a request's correlation ID on its answer: a
// person reporting a failure quotes it, and the log lines about that
// request carry it, so an operator finds them without the error's detail
// ever reaching the caller.
const CorrelationHeader = "X-Request-Id"

// sane is what an ID from a proxy in front must look like to be kept: it
// goes into logs and headers.
var sane = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

type correlationKey struct{}

// WithCorrelationIDs gives every request a correlation ID: the one a proxy
// in front sent in X-Request-Id if it is sane, or a new random one. It is
// on the answer's X-Request-Id and in the request's context (CorrelationID).
func WithCorrelationIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if !sane.MatchString(id) {
			id = rand.Text()
		}
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
