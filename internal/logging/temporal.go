package logging

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
)

// TemporalLogger adapts a *zap.Logger to the Temporal SDK's logger
// interfaces (log.Logger, log.WithLogger and log.WithSkipCallers). Pass it as
// client.Options.Logger; workflow.GetLogger and activity.GetLogger then log
// through zap too.
//
// The SDK logs key/value pairs ("WorkflowID", id, "Attempt", 1, ...). Each
// pair becomes one zap field; a value that is an error becomes an error
// field under its key. A trailing key without a value is kept under the key
// "!BADKEY" rather than dropped, as log/slog does.
type TemporalLogger struct {
	zl *zap.Logger
}

var (
	_ log.Logger          = (*TemporalLogger)(nil)
	_ log.WithLogger      = (*TemporalLogger)(nil)
	_ log.WithSkipCallers = (*TemporalLogger)(nil)
)

// NewTemporalLogger wraps zl for the Temporal SDK. A nil zl yields a logger
// that discards everything.
func NewTemporalLogger(zl *zap.Logger) *TemporalLogger {
	if zl == nil {
		zl = zap.NewNop()
	}
	// Skip the adapter's own frame so that the caller reported by zap is the
	// code that called the SDK logger, not this file.
	return &TemporalLogger{zl: zl.WithOptions(zap.AddCallerSkip(1))}
}

// Zap returns the underlying zap logger (with the adapter's caller skip).
func (l *TemporalLogger) Zap() *zap.Logger { return l.zl }

// Debug logs at debug level.
func (l *TemporalLogger) Debug(msg string, keyvals ...interface{}) {
	l.zl.Debug(msg, fields(keyvals)...)
}

// Info logs at info level.
func (l *TemporalLogger) Info(msg string, keyvals ...interface{}) {
	l.zl.Info(msg, fields(keyvals)...)
}

// Warn logs at warn level.
func (l *TemporalLogger) Warn(msg string, keyvals ...interface{}) {
	l.zl.Warn(msg, fields(keyvals)...)
}

// Error logs at error level.
func (l *TemporalLogger) Error(msg string, keyvals ...interface{}) {
	l.zl.Error(msg, fields(keyvals)...)
}

// With returns a logger that adds keyvals to every entry.
func (l *TemporalLogger) With(keyvals ...interface{}) log.Logger {
	return &TemporalLogger{zl: l.zl.With(fields(keyvals)...)}
}

// WithCallerSkip returns a logger that skips depth more stack frames when
// reporting the caller; the SDK uses it for its own wrapper loggers.
func (l *TemporalLogger) WithCallerSkip(depth int) log.Logger {
	return &TemporalLogger{zl: l.zl.WithOptions(zap.AddCallerSkip(depth))}
}

const badKey = "!BADKEY"

func fields(keyvals []interface{}) []zap.Field {
	if len(keyvals) == 0 {
		return nil
	}
	out := make([]zap.Field, 0, (len(keyvals)+1)/2)
	for i := 0; i < len(keyvals); i += 2 {
		if i+1 == len(keyvals) {
			out = append(out, zap.Any(badKey, keyvals[i]))
			break
		}
		key, ok := keyvals[i].(string)
		if !ok {
			key = fmt.Sprint(keyvals[i])
		}
		switch v := keyvals[i+1].(type) {
		case error:
			out = append(out, zap.NamedError(key, v))
		default:
			out = append(out, zap.Any(key, v))
		}
	}
	return out
}
