package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/delivery/deliverytest"
	"github.com/infuse-cymru/journeys/internal/store"
)

// TestMailServerDownForDays (issue 11, "faults survived"): the mail server
// out of reach for three days of the fake clock — refusing connections for
// two, then accepting them and answering 421 to every greeting for a third
// — loses nothing. Messages due before it went down, messages falling due
// while it was down and messages queued meanwhile all arrive once it is
// back: each once, each person's in order, none failed and none charged an
// attempt, since not reaching the server is no fault of any message (with
// the defaults a message is given up after 20 failed attempts, about 15
// hours). While it is down it is tried once a pass, at a backoff of its
// own, however many people are waiting.
//
// The clock goes from one due time to the next (deliverytest.Drain), so
// the three days take as many passes as the Deliverer needs, not three
// days' worth of polls.
func TestMailServerDownForDays(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, delivery.Options{Concurrency: 3})
		people := []uuid.UUID{f.person("Siân").ID, f.person("Rhys").ID, f.person("Owain").ID}
		order := map[uuid.UUID][]string{} // each person's Message-IDs, in SendAt order
		queue := func(template string, at time.Time) {
			for i, key := range f.queue(template, at, people...) {
				order[people[i]] = append(order[people[i]], delivery.MessageID(key, ""))
			}
		}
		drain := func(until time.Time) deliverytest.Result {
			t.Helper()
			// Hourly tries of the server for two days need about 55 passes:
			// 200 leaves room, and stops a Deliverer that never settles.
			r, err := deliverytest.Drain(ctx, f.d, f.clock, until, 200)
			if err != nil {
				t.Fatalf("draining the outbox up to %s: %v", until.Format(time.DateTime), err)
			}
			return r
		}

		queue("due-before-the-outage", t0.Add(-time.Hour))
		for h := 6; h < 48; h += 12 {
			queue(fmt.Sprintf("due-at-%dh", h), t0.Add(time.Duration(h)*time.Hour))
		}
		f.srv.Stop()
		refused := drain(t0.Add(48 * time.Hour))

		// Halfway through, more is queued, one of them overdue already,
		// and the server comes back but will not greet anyone.
		f.clock.Set(t0.Add(48 * time.Hour))
		queue("queued-during-overdue", t0.Add(47*time.Hour))
		queue("queued-during-due-at-54h", t0.Add(54*time.Hour))
		queue("queued-during-due-at-66h", t0.Add(66*time.Hour))
		f.srv.Start()
		f.srv.RefuseSessions(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Service not available, try again later"})
		greeted := drain(t0.Add(72 * time.Hour))
		dialled := f.srv.Connections()

		if refused.Sent+greeted.Sent != 0 {
			t.Errorf("%d messages sent while the server was out of reach", refused.Sent+greeted.Sent)
		}
		if s := refused.Failed + greeted.Failed; s != 0 {
			t.Errorf("%d messages failed during the outage, want none: the outage is not their fault", s)
		}
		if s := refused.Retried + greeted.Retried; s != 0 {
			t.Errorf("%d messages charged a failed attempt for the outage, want none", s)
		}
		if dialled != greeted.Passes {
			t.Errorf("the server was dialled %d times in %d passes while it refused to greet, want once a pass", dialled, greeted.Passes)
		}
		for _, r := range []deliverytest.Result{refused, greeted} {
			if r.Unreachable != r.Passes {
				t.Errorf("%d passes while the server was out of reach found it so %d times, want once each", r.Passes, r.Unreachable)
			}
		}
		// Its own backoff, as a message's would be: tried at 0, 1, 3, 7, 15,
		// 31 and 63 minutes, then hourly, so 7+46 tries in the first two days
		// and 24 in the third.
		if refused.Passes != 53 || greeted.Passes != 24 {
			t.Errorf("the server was tried %d times in two days and %d in the third, want 53 and 24: doubling from a minute to an hour",
				refused.Passes, greeted.Passes)
		}

		f.srv.RefuseSessions(nil)
		total := 3 * 8
		if after := drain(t0.Add(74 * time.Hour)); after.Stats != (delivery.Stats{Sent: total}) || after.Passes != 1 {
			t.Errorf("once the server was back: %d passes, %+v; want every message sent in one pass", after.Passes, after.Stats)
		}
		checkReceivedOnceInOrder(t, f.srv.Received(), order)
		msgs, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: f.intake.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Status != store.MessageSent || m.Attempts != 0 || m.LastError != "" {
				t.Errorf("%s (%s) after the outage: %s after %d failed attempts (%q); want sent, no attempt charged",
					m.Template, m.Key, m.Status, m.Attempts, m.LastError)
			}
		}
		if len(msgs) != total {
			t.Errorf("%d messages in the outbox, want %d", len(msgs), total)
		}
	})
}

// TestDigestWaitsForTheMailServer: a digest that cannot reach the mail
// server is that one try of the server, and the messages folded into it
// wait, charged nothing, and go as the same digest once it answers.
func TestDigestWaitsForTheMailServer(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newPolicyFixture(t, st, lon(2021, 11, 8, 10, 0)) // a Monday, a cap of 3 a day
		siân := f.person("Siân")
		f.queue("morning-1", lon(2021, 11, 8, 9, 0), siân.ID)
		f.queue("morning-2", lon(2021, 11, 8, 9, 1), siân.ID)
		f.pass(delivery.Stats{Sent: 2})
		// Room for one more today: the three due now become one digest.
		var keys []string
		for i := range 3 {
			keys = append(keys, f.queue(fmt.Sprintf("reminder-%d", i+1), lon(2021, 11, 8, 10, 0), siân.ID)...)
		}
		f.srv.Stop()
		f.pass(delivery.Stats{Unreachable: 1})
		for _, k := range keys {
			if m := f.message(k); m.Status != store.MessageQueued || m.Attempts != 0 {
				t.Errorf("%s after its digest could not reach the server: %s after %d attempts; want queued, charged nothing", k, m.Status, m.Attempts)
			}
		}
		f.srv.Start()
		f.clock.Add(time.Minute)
		f.pass(delivery.Stats{Sent: 3, Folded: 3})
		if n := len(f.srv.Received()); n != 3 {
			t.Errorf("Siân got %d e-mails, want 3 (two and a digest of three)", n)
		}
	})
}
