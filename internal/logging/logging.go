// Package logging builds the process-wide zap logger and bridges it to the
// logger interfaces of the Temporal Go SDK, so that the binary, the SDK
// client/worker and the embedded dev server all write one structured log
// stream instead of three differently formatted ones.
package logging

import (
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a zap logger at the given level ("debug", "info", "warn",
// "error"; empty means "info").
//
// In development mode the output is human-readable console text with colours
// and stack traces from warn upwards; otherwise it is JSON (one object per
// line) with ISO-8601 timestamps, suitable for a log collector.
func New(level string, development bool) (*zap.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	var cfg zap.Config
	if development {
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
		if stderrIsTerminal() {
			cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		cfg.EncoderConfig.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	} else {
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
		// Sampling drops repeated entries silently; for a workflow engine the
		// repeated entries (one per journey) are exactly the ones we want.
		cfg.Sampling = nil
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	logger, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("logging: building zap logger: %w", err)
	}
	return logger, nil
}

// ParseLevel parses a log level name, case-insensitively. The empty string
// means info.
func ParseLevel(level string) (zapcore.Level, error) {
	level = strings.TrimSpace(level)
	if level == "" {
		return zapcore.InfoLevel, nil
	}
	lvl, err := zapcore.ParseLevel(strings.ToLower(level))
	if err != nil {
		return zapcore.InfoLevel, fmt.Errorf("logging: unknown level %q (use debug, info, warn or error)", level)
	}
	return lvl, nil
}

// stderrIsTerminal says whether colour codes would be read by a person;
// in a file or a pipe they are noise.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
