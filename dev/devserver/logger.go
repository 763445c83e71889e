package devserver

import (
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/infuse-cymru/journeys/internal/logging"
)

// serverZap returns zl restricted to level and above, and the gate that
// quietens it. While the server stops, its services keep dialling each other
// for a moment and warn with stack traces about it; that is expected noise,
// so only errors pass while stopping and nothing once stopped (a finished
// test's logger must not be written to).
func serverZap(zl *zap.Logger, level string) (*zap.Logger, *gate) {
	lvl, _ := logging.ParseLevel(level)
	// IncreaseLevel can only raise the level; only apply it when zl lets
	// through something below lvl.
	if lvl > zapcore.DebugLevel && zl.Core().Enabled(lvl-1) {
		zl = zl.WithOptions(zap.IncreaseLevel(lvl))
	}
	g := &gate{}
	g.min.Store(int32(zapcore.DebugLevel))
	zl = zl.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return gateCore{Core: c, gate: g}
	}))
	return zl, g
}

// gate is the lowest level let through, raised as the server stops.
type gate struct{ min atomic.Int32 }

// stopping lets only errors through.
func (g *gate) stopping() { g.min.Store(int32(zapcore.ErrorLevel)) }

// close lets nothing through.
func (g *gate) close() { g.min.Store(int32(zapcore.FatalLevel + 1)) }

func (g *gate) allows(l zapcore.Level) bool { return int32(l) >= g.min.Load() }

// gateCore drops entries the gate does not allow.
type gateCore struct {
	zapcore.Core
	gate *gate
}

func (c gateCore) Enabled(l zapcore.Level) bool {
	return c.gate.allows(l) && c.Core.Enabled(l)
}

func (c gateCore) With(fields []zapcore.Field) zapcore.Core {
	return gateCore{Core: c.Core.With(fields), gate: c.gate}
}

func (c gateCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !c.gate.allows(e.Level) {
		return ce
	}
	return c.Core.Check(e, ce)
}
