package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
)

// meeting holds each of two Deliverers at its first Compose until the other
// has come to its own: by then both hold claims at once, so the test below
// does not depend on how the goroutines happen to be scheduled.
type meeting struct {
	wg    sync.WaitGroup
	first [2]sync.Once
}

func newMeeting() *meeting {
	m := &meeting{}
	m.wg.Add(2)
	return m
}

// composer is textComposer for Deliverer i, which waits at the meeting.
func (m *meeting) composer(i int, c textComposer) delivery.Composer {
	return delivery.ComposerFunc(func(ctx context.Context, msg store.Message) (delivery.Email, error) {
		m.first[i].Do(func() {
			m.wg.Done()
			m.wg.Wait()
		})
		return c.Compose(ctx, msg)
	})
}

// TestTwoDeliverersShareTheOutbox: two Deliverers draining one store at once,
// as two workers do, send each of a few hundred messages exactly once, each
// person's in order, and mark them all sent.
func TestTwoDeliverersShareTheOutbox(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, delivery.Options{})
		const people, rounds = 40, 8
		ids := make([]uuid.UUID, people)
		for i := range ids {
			ids[i] = f.person(fmt.Sprintf("Person%d", i)).ID
		}
		order := map[uuid.UUID][]string{} // each person's Message-IDs, in SendAt order
		for k := range rounds {
			keys := f.queue(fmt.Sprintf("reminder.%d", k), t0.Add(time.Duration(k-rounds)*time.Minute), ids...)
			for i, key := range keys {
				order[ids[i]] = append(order[ids[i]], delivery.MessageID(key, ""))
			}
		}

		meet := newMeeting()
		stats := make([]delivery.Stats, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			// Small batches, so that the two claim many times between them.
			d := delivery.New(st, meet.composer(i, textComposer{st}), sender,
				delivery.Options{Now: f.clock.Now, Batch: 3, Concurrency: 3})
			wg.Add(1)
			go func() {
				defer wg.Done()
				stats[i] = drainShared(ctx, t, st, d)
			}()
		}
		wg.Wait()
		t.Logf("deliverer 0: %+v; deliverer 1: %+v", stats[0], stats[1])

		for i, s := range stats {
			if s.Sent == 0 {
				t.Errorf("deliverer %d sent nothing (%+v): the test did not share the outbox", i, s)
			}
		}
		if got := stats[0].Sent + stats[1].Sent; got != people*rounds {
			t.Errorf("the deliverers sent %d + %d messages, want %d between them", stats[0].Sent, stats[1].Sent, people*rounds)
		}
		checkReceivedOnceInOrder(t, f.srv.Received(), order)
		sent, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: f.intake.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sent {
			if m.Status != store.MessageSent || m.MessageID != delivery.MessageID(m.Key, "") || m.ClaimedBy != "" {
				t.Errorf("after delivery: %s is %s with Message-ID %q, claimed by %q", m.Key, m.Status, m.MessageID, m.ClaimedBy)
			}
		}
	})
}

// drainShared passes d until nothing is queued, returning what d did. While
// the other Deliverer holds the rest, a pass finds nothing and d passes
// again; the bound only stops a bug from looping for ever.
func drainShared(ctx context.Context, t *testing.T, st store.Store, d *delivery.Deliverer) delivery.Stats {
	var total delivery.Stats
	for range 10_000 {
		s, err := d.DeliverDue(ctx)
		total.Add(s)
		if err != nil {
			t.Errorf("DeliverDue: %v", err)
			return total
		}
		queued, err := st.ListMessages(ctx, store.OutboxFilter{Status: store.MessageQueued, Limit: 1})
		if err != nil {
			t.Errorf("reading the outbox: %v", err)
			return total
		}
		if len(queued) == 0 {
			return total
		}
	}
	t.Errorf("messages still queued after 10000 passes (%+v)", total)
	return total
}

// checkReceivedOnceInOrder checks that the server received every Message-ID
// of order once and nothing else, each person's in the order given.
func checkReceivedOnceInOrder(t *testing.T, rs []received, order map[uuid.UUID][]string) {
	t.Helper()
	whose := map[string]uuid.UUID{}
	want := 0
	for p, msgIDs := range order {
		want += len(msgIDs)
		for _, id := range msgIDs {
			whose[id] = p
		}
	}
	times := map[string]int{}
	arrived := map[uuid.UUID][]string{}
	for _, r := range rs {
		id := parse(t, r.Data).Header.Get("Message-Id")
		times[id]++
		if p, ok := whose[id]; ok && times[id] == 1 {
			arrived[p] = append(arrived[p], id)
		}
	}
	for id, n := range times {
		if _, ok := whose[id]; !ok || n != 1 {
			t.Errorf("the server received %s %d times, want once", id, n)
		}
	}
	if len(rs) != want || len(times) != want {
		t.Errorf("the server received %d e-mails, %d different; want each of the %d once", len(rs), len(times), want)
	}
	for p, msgIDs := range order {
		if !slices.Equal(arrived[p], msgIDs) {
			t.Errorf("person %s's messages arrived in the order %v, want %v", p, arrived[p], msgIDs)
		}
	}
}

// TestDeadDelivererLeavesItsMessages: messages a Deliverer claimed and then
// died holding (SIGKILL) go out, once and in order, when its lease has run
// out, and not before; the Deliverer taking them over warns of each, as it
// may be a second copy, and of nothing else.
func TestDeadDelivererLeavesItsMessages(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		logs, observed := observer.New(zap.WarnLevel)
		f := newFixture(t, st, delivery.Options{Logger: zap.New(logs)})
		siân := f.person("Siân")
		first := f.queue("first", t0.Add(-time.Minute), siân.ID)[0]
		second := f.queue("second", t0, siân.ID)[0]
		const lease = 5 * time.Minute
		claimed, err := st.ClaimDue(context.Background(), "killed-worker", t0, lease, 0)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("the dead deliverer's claim = %v, %v; want both messages", len(claimed), err)
		}
		f.pass(delivery.Stats{})
		f.clock.Add(lease - time.Second)
		rhys := f.person("Rhys")
		other := f.queue("other", t0, rhys.ID)[0]
		f.pass(delivery.Stats{Sent: 1})
		f.clock.Add(time.Second)
		f.pass(delivery.Stats{Sent: 2})
		checkReceivedOnceInOrder(t, f.srv.Received(), map[uuid.UUID][]string{
			siân.ID: {delivery.MessageID(first, ""), delivery.MessageID(second, "")},
			rhys.ID: {delivery.MessageID(other, "")}})
		var warned []string
		for _, e := range observed.FilterMessage(delivery.LapsedClaimWarning).All() {
			fields := e.ContextMap()
			if by := fields["lapsed_claim"]; by != "killed-worker" {
				t.Errorf("the warning for %v names the lapsed claim %v, want killed-worker", fields["message"], by)
			}
			if id, key := fields["message_id"], fmt.Sprint(fields["message"]); id != delivery.MessageID(key, "") {
				t.Errorf("the warning for %s gives Message-ID %v, want the one it is sent with, %s", key, id, delivery.MessageID(key, ""))
			}
			warned = append(warned, fmt.Sprint(e.ContextMap()["message"]))
		}
		if want := []string{first, second}; !slices.Equal(warned, want) {
			t.Errorf("warned of taking over %v, want %v (not %s, which nobody had claimed)", warned, want, other)
		}
	})
}

// TestClaimRunningShort: a message whose claim has too little left to see
// a send through is not sent under it (the Deliverer that takes it over
// could send it too) but handed back, and goes under the next claim.
func TestClaimRunningShort(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, delivery.Options{})
		key := f.queue("offer.made", t0, f.person("Siân").ID)[0]
		var slowOnce sync.Once
		tc := textComposer{st}
		sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// The claim lasts five minutes and a send starts only with two of
		// them left: composing the first time takes four.
		f.d = delivery.New(st, delivery.ComposerFunc(func(ctx context.Context, m store.Message) (delivery.Email, error) {
			slowOnce.Do(func() { f.clock.Add(4 * time.Minute) })
			return tc.Compose(ctx, m)
		}), sender, delivery.Options{Now: f.clock.Now})

		f.pass(delivery.Stats{})
		if m := f.message(key); m.Status != store.MessageQueued || m.ClaimedBy != "" || m.Attempts != 0 {
			t.Errorf("message whose claim ran short = %+v, want queued, unclaimed, no attempt counted", m)
		}
		if n := len(f.srv.Received()); n != 0 {
			t.Errorf("the server received %d messages sent on a claim running out", n)
		}
		f.pass(delivery.Stats{Sent: 1})
	})
}

// cancelAfterSend is a Sender that stops its Deliverer (cancels its
// context) just after the mail server has accepted the first message: a
// worker told to stop in the middle of a send.
type cancelAfterSend struct {
	delivery.Sender
	cancel context.CancelFunc
	once   sync.Once
	digest bool // cancel after the digest, not the first message
}

func (s *cancelAfterSend) Send(ctx context.Context, e delivery.Email) error {
	err := s.Sender.Send(ctx, e)
	if s.digest && !strings.Contains(e.Subject, "Digest") {
		return err // wait for the digest
	}
	s.once.Do(s.cancel)
	return err
}

// unmarkable is a store that cannot mark anything sent (the database gone
// just after the mail server accepted).
type unmarkable struct{ store.Store }

func (unmarkable) MarkSent(context.Context, string, string, time.Time) error {
	return errors.New("the database is unreachable")
}

// TestSentButUnmarkedKeepsItsClaim: messages the server accepted that the
// outbox could not mark keep their claims, however many recipients that
// happens to at once, so another deliverer does not send them again while
// the claims last.
func TestSentButUnmarkedKeepsItsClaim(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, delivery.Options{})
		ids := make([]uuid.UUID, 3)
		for i := range ids {
			ids[i] = f.person(fmt.Sprintf("Person%d", i)).ID
		}
		f.queue("reminder", t0.Add(-time.Minute), ids...)
		smtp, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		first := delivery.New(unmarkable{st}, textComposer{st}, smtp, delivery.Options{Now: f.clock.Now, Concurrency: 3})
		if _, err := first.DeliverDue(context.Background()); err == nil {
			t.Fatal("DeliverDue did not report the messages it could not mark")
		}
		if n := len(f.srv.Received()); n != 3 {
			t.Fatalf("the server received %d messages, want the 3", n)
		}
		f.pass(delivery.Stats{}) // another deliverer, at once: the claims hold
		if n := len(f.srv.Received()); n != 3 {
			t.Errorf("the server received %d messages after another deliverer's pass, want 3: a claim was handed back", n)
		}
	})
}

// TestStoppingMidDigestMarksWhatWasSent: a Deliverer stopped as the
// server accepts a digest marks every message in it sent, so the next
// does not send the digest again.
func TestStoppingMidDigestMarksWhatWasSent(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newPolicyFixture(t, st, lon(2021, 11, 8, 10, 0)) // a Monday
		siân := f.person("Siân")
		for i := range 5 {
			f.queue(fmt.Sprintf("reminder-%d", i+1), lon(2021, 11, 8, 9, i), siân.ID)
		}
		smtp, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		stopping, stop := context.WithCancel(context.Background())
		defer stop()
		first := delivery.New(st, inviteComposer{textComposer{st}}, &cancelAfterSend{Sender: smtp, cancel: stop, digest: true},
			delivery.Options{Now: f.clock.Now, Concurrency: 1, Policy: delivery.NewPolicy(st)})
		_, _ = first.DeliverDue(stopping)
		drainShared(context.Background(), t, st, f.d)
		if n := len(f.srv.Received()); n != 3 {
			t.Errorf("Siân got %d e-mails, want 3 (two and one digest of three)", n)
		}
	})
}

// TestStoppingMidSendMarksWhatWasSent: a Deliverer stopped while a message
// is on its way marks it sent all the same, so the Deliverer that carries
// on does not send it again.
func TestStoppingMidSendMarksWhatWasSent(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, delivery.Options{})
		ids := make([]uuid.UUID, 5)
		order := map[uuid.UUID][]string{}
		for i := range ids {
			ids[i] = f.person(fmt.Sprintf("Person%d", i)).ID
		}
		for i, key := range f.queue("reminder", t0.Add(-time.Minute), ids...) {
			order[ids[i]] = []string{delivery.MessageID(key, "")}
		}
		smtp, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		stopping, stop := context.WithCancel(context.Background())
		defer stop()
		first := delivery.New(st, textComposer{st}, &cancelAfterSend{Sender: smtp, cancel: stop},
			delivery.Options{Now: f.clock.Now, Concurrency: 1})
		if _, err := first.DeliverDue(stopping); err != nil && stopping.Err() == nil {
			t.Fatal(err)
		}
		if n := len(f.srv.Received()); n != 1 {
			t.Fatalf("the stopped deliverer sent %d messages, want the one under way", n)
		}
		drainShared(context.Background(), t, st, f.d)
		checkReceivedOnceInOrder(t, f.srv.Received(), order)
	})
}

// TestDroppedWhileSendingMarksTheRest: a message can be dropped from the
// outbox while a deliverer is sending it, when the workflow task whose
// event queued it failed and its retry replaced that event (store.Record).
// It went out in a digest with others; they are marked sent all the same,
// so none is sent again once the claim runs out.
func TestDroppedWhileSendingMarksTheRest(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newPolicyFixture(t, st, lon(2021, 11, 8, 10, 0)) // a Monday
		siân := f.person("Siân")
		for i := range 5 {
			if i == 3 {
				continue // the fourth comes from a task attempt that fails
			}
			f.queue(fmt.Sprintf("reminder-%d", i+1), lon(2021, 11, 8, 9, i), siân.ID)
		}
		journey := uuid.New()
		attempt := func(fence int64, msgs ...store.Message) {
			t.Helper()
			ev := store.Event{Key: fmt.Sprintf("journey/%s/1", journey), IntakeID: f.intake.ID, JourneyID: journey,
				Type: "reminder.queued", Attempt: &store.TaskAttempt{Stream: "journey/" + journey.String(), Seq: 1, Fence: fence}}
			if _, err := st.Record(context.Background(), ev, msgs...); err != nil {
				t.Fatal(err)
			}
		}
		attempt(1, store.Message{Key: fmt.Sprintf("journey/%s/reminder-4", journey), RecipientID: siân.ID,
			Role: store.RoleParticipant, Template: "reminder-4", SendAt: lon(2021, 11, 8, 9, 3)})
		smtp, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		dropping := &dropOnDigest{Sender: smtp, drop: func() { attempt(2) }}
		d := delivery.New(st, inviteComposer{textComposer{st}}, dropping,
			delivery.Options{Now: f.clock.Now, Concurrency: 1, Policy: delivery.NewPolicy(st)})
		drainShared(context.Background(), t, st, d)
		if !dropping.dropped {
			t.Fatal("no digest was sent, so nothing was dropped while sending: the test did not happen")
		}
		f.clock.Add(time.Hour) // every claim has run out
		drainShared(context.Background(), t, st, d)
		if n := len(f.srv.Received()); n != 3 {
			t.Errorf("Siân got %d e-mails, want 3 (two and one digest of three): a message was sent again", n)
		}
	})
}

// dropOnDigest drops a message from the outbox (drop) as the first digest
// goes out.
type dropOnDigest struct {
	delivery.Sender
	drop    func()
	dropped bool
}

func (s *dropOnDigest) Send(ctx context.Context, e delivery.Email) error {
	if strings.Contains(e.Subject, "Digest") && !s.dropped {
		s.dropped = true
		s.drop()
	}
	return s.Sender.Send(ctx, e)
}
