package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/telemetry"
)

// TestSignInSecretNotLogged: a sign-in that fails on the server's side
// (the database is gone) is logged with its path, but not with the link's
// secret, which would let whoever reads the log sign in as the person
// while the link lasts.
func TestSignInSecretNotLogged(t *testing.T) {
	st := sqlitestore.OpenTest(t)
	core, logs := observer.New(zapcore.DebugLevel)
	h := telemetry.WithCorrelationIDs(New(app.New(nil, st), Options{Logger: zap.New(core)}))
	st.Close()
	const secret = "Zq3vX9pL2mN8rT5wK7yB4cD6fG1hJ0sA"
	r := httptest.NewRequest(http.MethodPost, "/signin/"+secret, strings.NewReader(url.Values{csrfField: {"t"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: preSessionCookie, Value: "t"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("sign-in with the store closed = %d, want 500", rec.Code)
	}
	entries := logs.FilterMessage("page failed").All()
	if len(entries) != 1 || entries[0].ContextMap()["path"] != "/signin/…" {
		t.Errorf("log of the failed sign-in = %+v, want one entry with path /signin/…", entries)
	}
	// The page gives the reference to quote, which finds the log line.
	id := rec.Header().Get(telemetry.CorrelationHeader)
	if !strings.Contains(rec.Body.String(), "<code>"+id+"</code>") || len(entries) != 1 || entries[0].ContextMap()["request_id"] != id {
		t.Errorf("the error page or its log line lacks the request ID %q:\n%s\n%+v", id, rec.Body, entries)
	}
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			if strings.Contains(e.Message, secret) || strings.Contains(fmt.Sprint(v), secret) {
				t.Errorf("the link's secret is in the log: %q %s=%v", e.Message, k, v)
			}
		}
	}
}

// unreachableLinks is a real store whose server stops answering when a
// sign-in link is redeemed, as pgx reports a refused connection.
type unreachableLinks struct{ store.Store }

func (unreachableLinks) RedeemSignInLink(context.Context, string, time.Time) (uuid.UUID, error) {
	return uuid.Nil, fmt.Errorf("redeeming: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
}

// A page that finds the store unreachable says so, in the reader's
// language, as 503 with a time to retry after: not a 500, which would say
// something is wrong with what they did or with the code.
func TestUnreachableStoreIsAPageToComeBackTo(t *testing.T) {
	st := unreachableLinks{sqlitestore.OpenTest(t)}
	h := telemetry.WithCorrelationIDs(New(app.New(nil, st), Options{Logger: zap.NewNop()}))
	r := httptest.NewRequest(http.MethodPost, "/signin/Zq3vX9pL2mN8rT5wK7yB4cD6fG1hJ0sA", strings.NewReader(url.Values{csrfField: {"t"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: preSessionCookie, Value: "t"})
	r.AddCookie(&http.Cookie{Name: langCookie, Value: "en"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" ||
		!strings.Contains(rec.Body.String(), "may not have been done") {
		t.Errorf("a sign-in with the store unreachable = %d, Retry-After %q:\n%s\nwant 503, 30 and the page saying so",
			rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
