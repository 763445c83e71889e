package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/delivery/deliverytest"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

// lon is a wall-clock time in London.
func lon(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, london)
}

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// inviteComposer is textComposer plus a calendar invite for templates
// starting "invite", as the real composer attaches one to session messages.
type inviteComposer struct{ textComposer }

func (c inviteComposer) Compose(ctx context.Context, m store.Message) (delivery.Email, error) {
	e, err := c.textComposer.Compose(ctx, m)
	if err == nil && strings.HasPrefix(m.Template, "invite") {
		e.Attachments = []delivery.Attachment{{Name: "invite.ics", ContentType: "text/calendar; charset=utf-8; method=REQUEST",
			Data: []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n")}}
	}
	return e, err
}

// newPolicyFixture is a fixture whose Deliverer applies the Infuse v1
// delivery policy (quiet outside 09:00–17:30 on working days, at most 3 a
// day) with the clock at start.
func newPolicyFixture(t testing.TB, st store.Store, start time.Time) *fixture {
	t.Helper()
	f := newFixture(t, st, delivery.Options{})
	f.clock.Set(start)
	sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.d = delivery.New(st, inviteComposer{textComposer{st}}, sender,
		delivery.Options{Now: f.clock.Now, Policy: delivery.NewPolicy(st)})
	return f
}

func TestProgrammeDeliveryPolicy(t *testing.T) {
	p := programme.Default()
	if d := p.Delivery; d == nil || !d.QuietOutsideWorkingHours || d.MaxPerPersonPerDay != 3 {
		t.Fatalf("infuse v1 delivery = %+v, want quiet outside working hours and at most 3 a day", d)
	}
}

// TestQuietHours: a message due outside working time waits for the start
// of the next working window, in London time across the clock change and
// over bank holidays, and then goes.
func TestQuietHours(t *testing.T) {
	tests := []struct {
		name     string
		due, now time.Time
		want     time.Time // the window it is held until
		wantUTC  string
	}{
		{"Saturday", lon(2021, 11, 6, 11, 0), lon(2021, 11, 6, 11, 0), lon(2021, 11, 8, 9, 0), "2021-11-08T09:00:00Z"},
		{"Friday 17:45", lon(2021, 11, 5, 17, 45), lon(2021, 11, 5, 17, 45), lon(2021, 11, 8, 9, 0), "2021-11-08T09:00:00Z"},
		{"Friday 17:30, the end is exclusive", lon(2021, 11, 5, 17, 30), lon(2021, 11, 5, 17, 30), lon(2021, 11, 8, 9, 0), "2021-11-08T09:00:00Z"},
		{"early on a working day", lon(2021, 11, 9, 6, 0), lon(2021, 11, 9, 6, 0), lon(2021, 11, 9, 9, 0), "2021-11-09T09:00:00Z"},
		{"night, due the evening before", lon(2021, 11, 9, 22, 0), lon(2021, 11, 10, 2, 0), lon(2021, 11, 10, 9, 0), "2021-11-10T09:00:00Z"},
		{"Christmas Eve evening, Christmas and Boxing Day substitutes", lon(2021, 12, 24, 18, 0), lon(2021, 12, 24, 18, 0), lon(2021, 12, 29, 9, 0), "2021-12-29T09:00:00Z"},
		{"Christmas Day", lon(2021, 12, 25, 10, 0), lon(2021, 12, 27, 10, 0), lon(2021, 12, 29, 9, 0), "2021-12-29T09:00:00Z"},
		{"in BST: 09:00 is 08:00Z", lon(2021, 10, 28, 18, 0), lon(2021, 10, 28, 18, 0), lon(2021, 10, 29, 9, 0), "2021-10-29T08:00:00Z"},
		{"over the clock change: 09:00 is 09:00Z", lon(2021, 10, 29, 17, 30), lon(2021, 10, 29, 17, 30), lon(2021, 11, 1, 9, 0), "2021-11-01T09:00:00Z"},
		{"Easter Monday", lon(2022, 4, 14, 20, 0), lon(2022, 4, 14, 20, 0), lon(2022, 4, 19, 9, 0), "2022-04-19T08:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.want.UTC().Format(time.RFC3339); got != tt.wantUTC {
				t.Fatalf("test case: window %v is %s, want %s", tt.want, got, tt.wantUTC)
			}
			f := newPolicyFixture(t, sqlitestore.OpenTest(t), tt.now)
			p := f.person("Siân")
			keys := f.queue("plan.reminder", tt.due, p.ID)

			f.pass(delivery.Stats{Deferred: 1})
			if m := f.message(keys[0]); !m.SendAt.Equal(tt.want) || m.Status != store.MessageQueued {
				t.Errorf("message %s, SendAt %s; want queued until %s", m.Status, m.SendAt.UTC().Format(time.RFC3339), tt.wantUTC)
			}
			f.pass(delivery.Stats{}) // not due again until the window opens
			f.clock.Set(tt.want.Add(-time.Minute))
			f.pass(delivery.Stats{})
			if n := len(f.srv.Received()); n != 0 {
				t.Fatalf("%d e-mails sent outside working time", n)
			}
			f.clock.Set(tt.want)
			f.pass(delivery.Stats{Sent: 1})
			if m := f.message(keys[0]); !m.SentAt.Equal(tt.want) {
				t.Errorf("sent at %s, want %s", m.SentAt.UTC().Format(time.RFC3339), tt.wantUTC)
			}
		})
	}
}

// TestWorkingTimeSendsAtOnce: inside working hours the policy does not
// hold anything back.
func TestWorkingTimeSendsAtOnce(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newPolicyFixture(t, st, lon(2021, 11, 8, 17, 29))
		p := f.person("Rhys")
		f.queue("plan.reminder", lon(2021, 11, 8, 17, 0), p.ID)
		f.queue("plan.reminder", lon(2021, 11, 8, 17, 29), p.ID)
		f.pass(delivery.Stats{Sent: 2})
	})
}

// digestOf finds the one digest among rs, failing unless there is exactly one.
func digestOf(t *testing.T, rs []received) parsed {
	t.Helper()
	var out []parsed
	for _, r := range rs {
		p := parse(t, r.Data)
		if strings.Contains(decodeSubject(t, p), "Digest") {
			out = append(out, p)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d digests among %d e-mails, want 1", len(out), len(rs))
	}
	return out[0]
}

func decodeSubject(t *testing.T, p parsed) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDailyCapDigest: five due at once for one person with a cap of three
// become two e-mails and a digest of the other three; all five are marked
// sent (the folded ones with the digest's Message-ID); nothing is sent
// again; one falling due later that day waits for the next working day;
// someone else's cap is their own.
func TestDailyCapDigest(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := newPolicyFixture(t, st, lon(2021, 11, 8, 10, 0)) // a Monday
		siân, rhys := f.person("Siân"), f.person("Rhys")
		var keys []string
		for i := range 5 {
			keys = append(keys, f.queue(fmt.Sprintf("reminder-%d", i+1), lon(2021, 11, 8, 9, i), siân.ID)...)
		}
		f.queue("rhys-only", lon(2021, 11, 8, 9, 30), rhys.ID)

		f.pass(delivery.Stats{Sent: 6, Folded: 3})
		got := f.srv.Received()
		if len(got) != 4 {
			t.Fatalf("%d e-mails, want 4 (Siân: 2 and a digest; Rhys: 1)", len(got))
		}
		toSiân := 0
		for _, r := range got {
			if strings.EqualFold(r.To[0], siân.EmailAddress) {
				toSiân++
			}
		}
		if toSiân != 3 {
			t.Errorf("Siân got %d e-mails, want 3", toSiân)
		}
		d := digestOf(t, got)
		if s := decodeSubject(t, d); s != "Crynodeb: 3 neges | Digest: 3 messages" {
			t.Errorf("digest subject %q", s)
		}
		text := strings.ReplaceAll(d.Parts["text/plain"], "\r\n", "\n")
		for i, tmpl := range []string{"reminder-3", "reminder-4", "reminder-5"} {
			if !strings.Contains(text, fmt.Sprintf("%d. Infuse: %s\n", i+1, tmpl)) {
				t.Errorf("digest does not list %s as item %d:\n%s", tmpl, i+1, text)
			}
		}
		for _, tmpl := range []string{"reminder-1", "reminder-2"} {
			if strings.Contains(text, tmpl) {
				t.Errorf("digest lists %s, which went on its own", tmpl)
			}
		}
		if !strings.HasPrefix(text, "Mae gennych 3 neges") {
			t.Errorf("digest should open in Welsh:\n%s", text)
		}
		if h := d.Header.Get("Auto-Submitted"); h != "auto-generated" {
			t.Errorf("digest Auto-Submitted = %q: header fields all the messages share should be kept", h)
		}
		for i, k := range keys {
			m := f.message(k)
			if m.Status != store.MessageSent {
				t.Fatalf("%s is %s, want sent", k, m.Status)
			}
			folded := i >= 2
			if folded != (m.MessageID == d.Header.Get("Message-Id")) {
				t.Errorf("message %d: Message-ID %s, digest's %s; folded: %v", i+1, m.MessageID, d.Header.Get("Message-Id"), folded)
			}
		}

		f.pass(delivery.Stats{})
		if n := len(f.srv.Received()); n != 4 {
			t.Fatalf("second pass sent %d more", n-4)
		}

		// The cap is reached: a message due this afternoon waits.
		late := f.queue("afternoon", lon(2021, 11, 8, 14, 0), siân.ID)
		f.clock.Set(lon(2021, 11, 8, 14, 0))
		f.pass(delivery.Stats{Deferred: 1})
		if m := f.message(late[0]); !m.SendAt.Equal(lon(2021, 11, 9, 9, 0)) {
			t.Errorf("over the cap: SendAt %v, want Tuesday 09:00", m.SendAt)
		}
		// Rhys has room: his goes.
		f.queue("rhys-afternoon", lon(2021, 11, 8, 14, 0), rhys.ID)
		f.pass(delivery.Stats{Sent: 1})
		f.clock.Set(lon(2021, 11, 9, 9, 0))
		f.pass(delivery.Stats{Sent: 1})

		sent, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: f.intake.ID, Status: store.MessageSent})
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) != 8 {
			t.Errorf("%d messages sent, want all 8", len(sent))
		}
	})
}

// TestDigestNeverFoldsInvites: messages carrying a calendar invite go
// individually and count towards the cap; with more invites than the
// day's individual room, the rest wait for the next working day.
func TestDigestNeverFoldsInvites(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newPolicyFixture(t, st, lon(2021, 11, 8, 10, 0))
		siân := f.person("Siân")
		templates := []string{"reminder-1", "reminder-2", "reminder-3", "invite-session", "reminder-5"}
		var keys []string
		for i, tmpl := range templates {
			keys = append(keys, f.queue(tmpl, lon(2021, 11, 8, 9, i), siân.ID)...)
		}
		f.pass(delivery.Stats{Sent: 5, Folded: 3})
		got := f.srv.Received()
		if len(got) != 3 {
			t.Fatalf("%d e-mails, want 3", len(got))
		}
		d := digestOf(t, got)
		if strings.Contains(d.Parts["text/plain"], "invite-session") {
			t.Error("the session invite was folded into the digest")
		}
		for _, tmpl := range []string{"reminder-2", "reminder-3", "reminder-5"} {
			if !strings.Contains(d.Parts["text/plain"], tmpl) {
				t.Errorf("digest does not carry %s", tmpl)
			}
		}
		invites := 0
		for _, r := range got {
			if p := parse(t, r.Data); p.Parts["text/calendar"] != "" {
				invites++
				if p.Header.Get("X-Infuse-Key") != keys[3] {
					t.Error("the invite arrived in the wrong e-mail")
				}
			}
		}
		if invites != 1 {
			t.Errorf("%d e-mails with an invite, want 1", invites)
		}
		if m := f.message(keys[3]); m.MessageID == d.Header.Get("Message-Id") {
			t.Error("the invite was marked sent with the digest's Message-ID")
		}

		// Four invites and two reminders: two invites go, the reminders are
		// the digest, two invites wait for Tuesday.
		rhys := f.person("Rhys")
		templates = []string{"invite-1", "invite-2", "reminder-a", "invite-3", "invite-4", "reminder-b"}
		keys = keys[:0]
		for i, tmpl := range templates {
			keys = append(keys, f.queue(tmpl, lon(2021, 11, 8, 9, i), rhys.ID)...)
		}
		f.pass(delivery.Stats{Sent: 4, Folded: 2, Deferred: 2})
		for i, want := range []store.MessageStatus{store.MessageSent, store.MessageSent, store.MessageSent, store.MessageQueued, store.MessageQueued, store.MessageSent} {
			if m := f.message(keys[i]); m.Status != want {
				t.Errorf("%s is %s, want %s", templates[i], m.Status, want)
			}
		}
		if m := f.message(keys[3]); !m.SendAt.Equal(lon(2021, 11, 9, 9, 0)) {
			t.Errorf("invite-3 held until %v, want Tuesday 09:00", m.SendAt)
		}
		f.clock.Set(lon(2021, 11, 9, 9, 0))
		f.pass(delivery.Stats{Sent: 2})
	})
}

// TestPolicyOnAFullIntake drives the Deliverer on a fake clock, passing
// whenever something falls due (deliverytest.Drain), over the outbox of a
// whole intake: every reminder of the Infuse v1 schedule for twelve
// participants (one coach, one coordinator), each participant's twelve
// session invites queued together at the start, absence follow-ups
// recorded in the evening and at weekends. No e-mail goes
// outside working time, nobody gets more than three on any day, and every
// message is sent exactly once.
func TestPolicyOnAFullIntake(t *testing.T) {
	if testing.Short() {
		t.Skip("six months of passes")
	}
	ctx := context.Background()
	st := sqlitestore.OpenTest(t)
	start := lon(2021, 10, 1, 8, 0) // a Friday: the labs start that day
	f := newPolicyFixture(t, st, start)
	prog := programme.Default()
	sched, err := prog.Schedule(programme.ScheduleInput{StartsOn: lon(2021, 10, 1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	coach, coordinator := f.person("Coach"), f.person("Coordinator")
	queued := 0
	for n := range 12 {
		p := f.person(fmt.Sprintf("P%02d", n))
		journey := uuid.New()
		var msgs []store.Message
		add := func(key, tmpl string, to uuid.UUID, at time.Time) {
			msgs = append(msgs, store.Message{Key: fmt.Sprintf("journey/%s/%s", journey, key), RecipientID: to,
				Role: store.RoleParticipant, Template: tmpl, SendAt: at})
		}
		add("intake-started", "intake-started", p.ID, start)
		for i, it := range sched.Items {
			if it.Kind == programme.KindSession {
				add(it.ID+"/invite", "invite-session", p.ID, start)
				if i%3 == n%3 { // absent: recorded at the end of the evening or at a weekend
					add(it.ID+"/absent", "session-absence", p.ID, it.DueAt.Add(time.Duration(6+n%3*24)*time.Hour))
				}
			}
			for _, r := range it.Reminders {
				if r.At.IsZero() {
					continue
				}
				to := p.ID
				switch r.Recipient {
				case programme.Coach:
					to = coach.ID
				case programme.Coordinator:
					to = coordinator.ID
				}
				add(r.Key, r.Template, to, r.At)
			}
		}
		ev := store.Event{Key: fmt.Sprintf("e/%s", journey), IntakeID: f.intake.ID, JourneyID: journey, Type: "journey.planned"}
		if _, err := st.Record(ctx, ev, msgs...); err != nil {
			t.Fatal(err)
		}
		queued += len(msgs)
	}

	// Five passes a message is plenty: one when it falls due, one more when
	// quiet hours or the day's cap held it back.
	began := time.Now()
	total, err := deliverytest.Drain(ctx, f.d, f.clock, sched.EndsAt.AddDate(0, 1, 0), 5*queued)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages queued; %d passes in %s; %+v", queued, total.Passes, time.Since(began).Round(time.Millisecond), total.Stats)

	all, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: f.intake.ID})
	if err != nil {
		t.Fatal(err)
	}
	type day struct {
		who  uuid.UUID
		date string
	}
	perDay := map[day]map[string]bool{}
	for _, m := range all {
		if m.Status != store.MessageSent {
			t.Errorf("%s (due %v) is %s, want sent", m.Key, m.SendAt, m.Status)
			continue
		}
		if !prog.IsWorkingTime(m.SentAt) {
			t.Errorf("%s sent at %v, outside working time", m.Key, m.SentAt.In(london))
		}
		k := day{m.RecipientID, m.SentAt.In(london).Format(time.DateOnly)}
		if perDay[k] == nil {
			perDay[k] = map[string]bool{}
		}
		perDay[k][m.MessageID] = true
	}
	for k, ids := range perDay {
		if len(ids) > 3 {
			t.Errorf("%s got %d e-mails on %s, want at most 3", k.who, len(ids), k.date)
		}
	}
	if total.Folded == 0 || total.Deferred == 0 {
		t.Errorf("the run never folded or deferred anything (%+v): the test does not exercise the policy", total)
	}

	// Every e-mail the server got is one Message-ID, received once.
	ids := map[string]int{}
	for _, r := range f.srv.Received() {
		msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		ids[msg.Header.Get("Message-Id")]++
	}
	distinct := map[string]bool{}
	for _, m := range all {
		distinct[m.MessageID] = true
	}
	if len(ids) != len(distinct) {
		t.Errorf("server got %d distinct e-mails, the outbox records %d", len(ids), len(distinct))
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
	if total.Sent != len(all) {
		t.Errorf("sent %d, want %d", total.Sent, len(all))
	}
}
