package telemetry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// figuresStore is a real store with the operators' figures.
type figuresStore interface {
	store.Store
	Figures
}

// TestStoreFigures: what the store holds is what /metrics says, on both
// backends: messages by status (a status with none at 0), how long the
// oldest due message has waited, overdue checkpoints, journeys by phase
// ("none" before the programme) and state.
func TestStoreFigures(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) figuresStore{
		"sqlite":   func(t *testing.T) figuresStore { return sqlitestore.OpenTest(t) },
		"postgres": func(t *testing.T) figuresStore { return pgstore.OpenTest(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			now := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
			m := New(zaptest.NewLogger(t))
			t.Cleanup(m.Close)
			m.registry.MustRegister(&storeCollector{figures: st, now: func() time.Time { return now }})
			fillStore(t, st, now)
			body := scrape(t, m.Handler())
			for _, want := range []string{
				`infuse_outbox_messages{status="queued"} 3`,
				`infuse_outbox_messages{status="sent"} 1`,
				`infuse_outbox_messages{status="failed"} 0`,
				`infuse_outbox_lag_seconds 5400`, // the oldest due message was due at 08:30
				`infuse_checkpoints_overdue 1`,
				`infuse_journeys{phase="lab-1",state="in_labs"} 2`,
				`infuse_journeys{phase="none",state="submitted"} 1`,
			} {
				if !hasLine(body, want) {
					t.Errorf("/metrics has no line %s; the infuse_ lines are:\n%s", want, lines(body, "infuse_"))
				}
			}
		})
	}
}

// fillStore records three journeys (two in the labs, one with a checkpoint
// overdue; one applied) and four messages: sent, due since 08:30 and
// since 09:30, and not due until tomorrow.
func fillStore(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20, Status: store.IntakeStarted}
	if err := st.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	record := func(key string, journey uuid.UUID, typ, phase, state, item string, msgs ...store.Message) {
		t.Helper()
		data, _ := json.Marshal(map[string]string{"item": item})
		_, err := st.Record(ctx, store.Event{
			Key: key, IntakeID: in.ID, JourneyID: journey, Type: typ, OccurredAt: now, Data: data,
			Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: uuid.New(), State: contract.Status(state), Phase: phase},
		}, msgs...)
		if err != nil {
			t.Fatal(err)
		}
	}
	msg := func(key string, journey uuid.UUID, sendAt time.Time) store.Message {
		return store.Message{Key: key, IntakeID: in.ID, JourneyID: journey, RecipientID: uuid.New(), Role: store.RoleParticipant,
			Template: "t", Channel: "email", SendAt: sendAt}
	}
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	record("a1", a, "journey.started", "lab-1", "in_labs", "",
		msg("sent", a, now.Add(-3*time.Hour)), msg("due-0830", a, now.Add(-90*time.Minute)),
		msg("due-0930", a, now.Add(-30*time.Minute)), msg("tomorrow", a, now.Add(24*time.Hour)))
	record("a2", a, store.EventTaskOverdue, "lab-1", "in_labs", "checkpoint/1")
	record("b1", b, "journey.started", "lab-1", "in_labs", "")
	record("c1", c, "application.submitted", "", "submitted", "")
	if err := st.MarkSent(ctx, "sent", "<sent@x>", now); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsWithoutTheStore: with the database gone, /metrics still
// answers, with the process's and the SDK's metrics and without the
// store's figures, and the failure is logged.
func TestMetricsWithoutTheStore(t *testing.T) {
	st := sqlitestore.OpenTest(t)
	m := New(zap.NewNop())
	t.Cleanup(m.Close)
	m.WatchStore(st)
	if body := scrape(t, m.Handler()); !hasLine(body, `infuse_outbox_messages{status="queued"} 0`) {
		t.Fatalf("open store: no queued count in\n%s", lines(body, "infuse_"))
	}
	st.Close()
	body := scrape(t, m.Handler())
	if strings.Contains(body, "infuse_outbox_messages") || !strings.Contains(body, "\ngo_goroutines ") {
		t.Errorf("closed store: want the Go metrics and no store figures, got the lines\n%s", lines(body, "infuse_", "go_goroutines"))
	}
}

// scrape GETs /metrics from h, which must answer 200.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d: %s", rec.Code, body)
	}
	return "\n" + string(body)
}

// hasLine says whether body has line, whole.
func hasLine(body, line string) bool { return strings.Contains(body, "\n"+line+"\n") }

// lines are body's lines that start with one of the prefixes, for messages.
func lines(body string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestCorrelationIDs: every answer carries a new request ID, the same one
// the handler's context holds, whatever the client sent.
func TestCorrelationIDs(t *testing.T) {
	var seen string
	h := WithCorrelationIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = CorrelationID(r.Context())
	}))
	ids := map[string]bool{}
	for _, sent := range []string{"", "lb-4f2a9c1e-77", "bad id\r\nSet-Cookie: x=1"} {
		req := httptest.NewRequest("GET", "/", nil)
		if sent != "" {
			req.Header.Set(CorrelationHeader, sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(CorrelationHeader)
		if got == "" || got != seen || got == sent || ids[got] {
			t.Errorf("sent %q: answered %q, handler saw %q; want a new ID, the same in both", sent, got, seen)
		}
		ids[got] = true
	}
	if CorrelationID(context.Background()) != "" {
		t.Error("a context outside a request has a correlation ID")
	}
}
