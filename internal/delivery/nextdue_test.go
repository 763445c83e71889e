package delivery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/delivery/deliverytest"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// wantNextDue checks f's Deliverer.NextDue: want, or nothing queued for a
// zero want.
func (f *fixture) wantNextDue(want time.Time) {
	f.t.Helper()
	at, ok, err := f.d.NextDue(context.Background())
	switch {
	case err != nil:
		f.t.Fatalf("NextDue: %v", err)
	case ok != !want.IsZero() || !at.Equal(want):
		f.t.Errorf("NextDue = %s, %v; want %s", at.Format(time.DateTime), ok, want.Format(time.DateTime))
	}
}

// TestNextDue: the next due time is the earliest SendAt of a queued
// message, even one overdue; a 4xx moves it to the retry, and a message
// queued behind the retry does not count before it; sent and failed
// messages do not count at all.
func TestNextDue(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, delivery.Options{})
		f.wantNextDue(time.Time{})
		siân, rhys, owain := f.person("Siân"), f.person("Rhys"), f.person("Owain")
		f.queue("later", t0.Add(2*time.Hour), siân.ID)
		f.queue("soon", t0.Add(time.Hour), rhys.ID)
		f.wantNextDue(t0.Add(time.Hour))
		f.queue("overdue", t0.Add(-time.Hour), owain.ID)
		f.queue("broken", t0.Add(-2*time.Hour), owain.ID)
		f.wantNextDue(t0.Add(-2 * time.Hour))

		f.pass(delivery.Stats{Sent: 1, Failed: 1})
		f.wantNextDue(t0.Add(time.Hour))

		f.srv.RefuseRecipient(rhys.EmailAddress, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "busy"})
		f.clock.Set(t0.Add(time.Hour))
		f.pass(delivery.Stats{Retried: 1})
		retry := t0.Add(time.Hour + time.Minute)
		f.queue("behind the retry", t0.Add(time.Hour+30*time.Second), rhys.ID)
		f.wantNextDue(retry)

		f.srv.RefuseRecipient(rhys.EmailAddress, nil)
		f.clock.Set(retry)
		f.pass(delivery.Stats{Sent: 2})
		f.wantNextDue(t0.Add(2 * time.Hour))
		f.clock.Set(t0.Add(2 * time.Hour))
		f.pass(delivery.Stats{Sent: 1})
		f.wantNextDue(time.Time{})
	})
}

// TestNextDueAfterPolicy: a message the Policy holds back is next due when
// the window opens.
func TestNextDueAfterPolicy(t *testing.T) {
	saturday := lon(2021, 11, 6, 11, 0)
	f := newPolicyFixture(t, sqlitestore.OpenTest(t), saturday)
	f.queue("plan.reminder", saturday, f.person("Siân").ID)
	f.wantNextDue(saturday)
	f.pass(delivery.Stats{Deferred: 1})
	f.wantNextDue(lon(2021, 11, 8, 9, 0))
}

// TestDrain: deliverytest.Drain moves the clock to each due time up to its
// end, and gives up after its number of passes when a message keeps
// failing.
func TestDrain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, sqlitestore.OpenTest(t), delivery.Options{})
	p := f.person("Siân")
	f.queue("first", t0.Add(time.Hour), p.ID)
	f.queue("second", t0.Add(90*time.Minute), p.ID)
	after := f.queue("after the end", t0.Add(48*time.Hour), p.ID)

	r, err := deliverytest.Drain(ctx, f.d, f.clock, t0.Add(24*time.Hour), 10)
	if err != nil || r.Passes != 2 || r.Stats != (delivery.Stats{Sent: 2}) {
		t.Fatalf("Drain = %+v, %v; want 2 passes sending 2", r, err)
	}
	if !f.clock.Now().Equal(t0.Add(90 * time.Minute)) {
		t.Errorf("clock at %s, want the second message's due time", f.clock.Now())
	}
	if m := f.message(after[0]); m.Status != store.MessageQueued {
		t.Errorf("message due after the end is %s", m.Status)
	}

	f.srv.Refuse(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "try again later"})
	r, err = deliverytest.Drain(ctx, f.d, f.clock, t0.Add(72*time.Hour), 3)
	if err == nil || !strings.Contains(err.Error(), "after 3 passes") || r.Passes != 3 || r.Retried != 3 {
		t.Errorf("Drain against a server refusing for now = %+v, %v; want it to give up after 3 passes", r, err)
	}
}
