package devserver

import (
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/infuse-cymru/journeys/internal/logging"
)

// serverZap returns zl restricted to level and above, and a function that
// silences it for good. The Temporal server leaves a few gRPC goroutines
// retrying connections for a moment after Stop; their noise should not reach
// the application's log (or a finished test's) once the server is stopped.
func serverZap(zl *zap.Logger, level string) (*zap.Logger, func()) {
	lvl, _ := logging.ParseLevel(level)
	// IncreaseLevel can only raise the level; only apply it when zl lets
	// through something below lvl.
	if lvl > zapcore.DebugLevel && zl.Core().Enabled(lvl-1) {
		zl = zl.WithOptions(zap.IncreaseLevel(lvl))
	}
	closed := new(atomic.Bool)
	zl = zl.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return gateCore{Core: c, closed: closed}
	}))
	return zl, func() { closed.Store(true) }
}

// gateCore drops every entry once closed is set.
type gateCore struct {
	zapcore.Core
	closed *atomic.Bool
}

func (c gateCore) Enabled(l zapcore.Level) bool {
	return !c.closed.Load() && c.Core.Enabled(l)
}

func (c gateCore) With(fields []zapcore.Field) zapcore.Core {
	return gateCore{Core: c.Core.With(fields), closed: c.closed}
}

func (c gateCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closed.Load() {
		return ce
	}
	return c.Core.Check(e, ce)
}
