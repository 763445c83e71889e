package logging

import (
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestTemporalLoggerFields(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	var l log.Logger = NewTemporalLogger(zap.New(core))

	boom := errors.New("boom")
	l.Debug("debugging", "Attempt", 3)
	l.Info("started", "WorkflowID", "journey/123", "RunID", "r1")
	l.Warn("odd", "dangling")
	l.Error("failed", "Error", boom, 42, "numeric key")

	with, ok := l.(log.WithLogger)
	if !ok {
		t.Fatal("adapter does not implement log.WithLogger")
	}
	with.With("Namespace", "default").Info("with context", "TaskQueue", "q")

	entries := logs.AllUntimed()
	if len(entries) != 5 {
		t.Fatalf("got %d entries, want 5: %+v", len(entries), entries)
	}

	check := func(i int, lvl zapcore.Level, msg string, want map[string]interface{}) {
		t.Helper()
		e := entries[i]
		if e.Level != lvl || e.Message != msg {
			t.Errorf("entry %d = %v %q, want %v %q", i, e.Level, e.Message, lvl, msg)
		}
		got := e.ContextMap()
		if len(got) != len(want) {
			t.Errorf("entry %d fields = %v, want %v", i, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("entry %d field %q = %#v, want %#v", i, k, got[k], v)
			}
		}
	}
	check(0, zapcore.DebugLevel, "debugging", map[string]interface{}{"Attempt": int64(3)})
	check(1, zapcore.InfoLevel, "started", map[string]interface{}{"WorkflowID": "journey/123", "RunID": "r1"})
	check(2, zapcore.WarnLevel, "odd", map[string]interface{}{"!BADKEY": "dangling"})
	check(3, zapcore.ErrorLevel, "failed", map[string]interface{}{"Error": "boom", "42": "numeric key"})
	check(4, zapcore.InfoLevel, "with context", map[string]interface{}{"Namespace": "default", "TaskQueue": "q"})

	// The error is kept as an error field, not flattened to a string.
	var errField *zapcore.Field
	for i := range entries[3].Context {
		if entries[3].Context[i].Key == "Error" {
			errField = &entries[3].Context[i]
		}
	}
	if errField == nil || errField.Type != zapcore.ErrorType {
		t.Errorf("Error field = %+v, want an error-typed field", errField)
	}
}

func TestTemporalLoggerCaller(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	l := NewTemporalLogger(zap.New(core, zap.AddCaller()))
	l.Info("here")
	e := logs.AllUntimed()[0]
	if !e.Caller.Defined || e.Caller.File == "" || !strings.HasSuffix(e.Caller.File, "logging_test.go") {
		t.Errorf("caller = %v, want this test file", e.Caller)
	}
}

func TestTemporalLoggerNil(t *testing.T) {
	NewTemporalLogger(nil).Info("discarded", "k", "v") // must not panic
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		level string
		dev   bool
		want  zapcore.Level
	}{
		{"", false, zapcore.InfoLevel},
		{"debug", true, zapcore.DebugLevel},
		{"WARN", false, zapcore.WarnLevel},
		{" error ", true, zapcore.ErrorLevel},
	} {
		l, err := New(tc.level, tc.dev)
		if err != nil {
			t.Fatalf("New(%q, %v): %v", tc.level, tc.dev, err)
		}
		if !l.Core().Enabled(tc.want) || (tc.want > zapcore.DebugLevel && l.Core().Enabled(tc.want-1)) {
			t.Errorf("New(%q): level not %v", tc.level, tc.want)
		}
	}
	if _, err := New("loud", false); err == nil {
		t.Error("New(\"loud\") succeeded, want an error")
	}
}
