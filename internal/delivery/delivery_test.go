package delivery_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// textComposer is the tests' Composer: plain text and a little HTML from the
// recipient's record in the store, read at send time as the real templates
// do. A message whose template is "broken" fails to render.
type textComposer struct{ st store.Store }

func (c textComposer) Compose(ctx context.Context, m store.Message) (delivery.Email, error) {
	if m.Template == "broken" {
		return delivery.Email{}, errors.New(`template: broken:1: unexpected "}" in operand`)
	}
	p, err := c.st.GetPerson(ctx, m.RecipientID)
	if err != nil {
		return delivery.Email{}, fmt.Errorf("reading the recipient: %w", err)
	}
	name := p.GivenName + " " + p.FamilyName
	return delivery.Email{
		From:    delivery.Address{Name: "Infuse", Address: "infuse@example.org"},
		To:      delivery.Address{Name: name, Address: p.EmailAddress},
		Subject: "Infuse: " + m.Template,
		Text:    fmt.Sprintf("Helo %s,\n\n%s\n", p.GivenName, m.Template),
		HTML:    fmt.Sprintf("<p>Helo <b>%s</b>,</p><p>%s</p>", p.GivenName, m.Template),
		Headers: map[string]string{"X-Infuse-Key": m.Key, "Auto-Submitted": "auto-generated"},
	}, nil
}

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t      testing.TB
	st     store.Store
	srv    *mailServer
	clock  *clock
	intake store.Intake
	d      *delivery.Deliverer
	seq    int
}

func newFixture(t testing.TB, st store.Store, o delivery.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, srv: startMailServer(t), clock: &clock{t: t0}}
	f.intake = store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20}
	if err := st.CreateIntake(context.Background(), f.intake); err != nil {
		t.Fatal(err)
	}
	sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: f.srv.host(), Port: f.srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	o.Now = f.clock.Now
	f.d = delivery.New(st, textComposer{st}, sender, o)
	return f
}

var personN int
var personMu sync.Mutex

func (f *fixture) person(given string) store.Person {
	f.t.Helper()
	personMu.Lock()
	personN++
	n := personN
	personMu.Unlock()
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: given, FamilyName: "Llywelyn",
		EmailAddress: fmt.Sprintf("%s.%d@Torfaen.gov.uk", strings.ToLower(given), n), LocalAuthority: "Torfaen", Language: store.LanguageWelsh}
	if err := f.st.CreatePeople(context.Background(), []store.Person{p}); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// queue records an event queueing one message to each of to, due at sendAt.
func (f *fixture) queue(template string, sendAt time.Time, to ...uuid.UUID) []string {
	f.t.Helper()
	f.seq++
	journey := uuid.New()
	var msgs []store.Message
	var keys []string
	for _, id := range to {
		key := fmt.Sprintf("journey/%s/%d/%s", journey, f.seq, id)
		keys = append(keys, key)
		msgs = append(msgs, store.Message{Key: key, RecipientID: id, Role: store.RoleParticipant, Template: template, SendAt: sendAt})
	}
	ev := store.Event{Key: fmt.Sprintf("e/%s/%d", journey, f.seq), IntakeID: f.intake.ID, JourneyID: journey, Type: "reminder.queued"}
	if _, err := f.st.Record(context.Background(), ev, msgs...); err != nil {
		f.t.Fatal(err)
	}
	return keys
}

func (f *fixture) pass(want delivery.Stats) {
	f.t.Helper()
	got, err := f.d.DeliverDue(context.Background())
	if err != nil {
		f.t.Fatalf("DeliverDue: %v", err)
	}
	if got != want {
		f.t.Errorf("DeliverDue at %s = %+v, want %+v", f.clock.Now().Format("15:04:05"), got, want)
	}
}

func (f *fixture) message(key string) store.Message {
	f.t.Helper()
	msgs, err := f.st.ListMessages(context.Background(), store.OutboxFilter{IntakeID: f.intake.ID})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Key == key {
			return m
		}
	}
	f.t.Fatalf("no message %q", key)
	return store.Message{}
}

// parsed is a received e-mail taken apart.
type parsed struct {
	Header mail.Header
	Parts  map[string]string // content type → decoded body
}

func parse(t testing.TB, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v", err)
	}
	p := parsed{Header: msg.Header, Parts: map[string]string{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(msg.Body)
		p.Parts[mt] = string(b)
		return p
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		var body io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		p.Parts[pt] = string(b)
	}
	p.Parts["multipart"] = mt
	return p
}

// byKey indexes what the server received by the X-Infuse-Key header, failing
// if any message arrived twice.
func byKey(t testing.TB, rs []received) map[string]received {
	t.Helper()
	out := map[string]received{}
	for _, r := range rs {
		msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		k := msg.Header.Get("X-Infuse-Key")
		if _, dup := out[k]; dup {
			t.Errorf("message %q received twice", k)
		}
		out[k] = r
	}
	return out
}

func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, sqlitestore.OpenTest(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, pgstore.OpenTest(t)) })
}

// TestDeliver: due messages arrive whole (envelope, To, Message-ID, text and
// HTML parts), are marked sent, and a second pass sends nothing again.
func TestDeliver(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, delivery.Options{})
		siân, rhys := f.person("Siân"), f.person("Rhys")
		k1 := f.queue("offer.made", t0.Add(-time.Hour), siân.ID, rhys.ID)
		k2 := f.queue("session.reminder", t0, siân.ID)
		later := f.queue("session.reminder", t0.Add(time.Minute), siân.ID)

		f.pass(delivery.Stats{Sent: 3})
		got := f.srv.Received()
		if len(got) != 3 {
			t.Fatalf("server received %d messages, want 3", len(got))
		}
		rs := byKey(t, got)
		for key, to := range map[string]store.Person{k1[0]: siân, k1[1]: rhys, k2[0]: siân} {
			r, ok := rs[key]
			if !ok {
				t.Errorf("message %s not received", key)
				continue
			}
			if len(r.To) != 1 || r.To[0] != to.EmailAddress || r.From != "infuse@example.org" {
				t.Errorf("envelope %s → %v, want infuse@example.org → %s", r.From, r.To, to.EmailAddress)
			}
			p := parse(t, r.Data)
			wantID := delivery.MessageID(key, "")
			if p.Header.Get("Message-Id") != wantID {
				t.Errorf("Message-ID = %q, want %q", p.Header.Get("Message-Id"), wantID)
			}
			addrs, err := p.Header.AddressList("To")
			if err != nil || len(addrs) != 1 || addrs[0].Address != to.EmailAddress || addrs[0].Name != to.GivenName+" Llywelyn" {
				t.Errorf("To = %v (%v), want %s <%s>", addrs, err, to.GivenName, to.EmailAddress)
			}
			if p.Parts["multipart"] != "multipart/alternative" ||
				!strings.Contains(p.Parts["text/plain"], "Helo "+to.GivenName+",") ||
				!strings.Contains(p.Parts["text/html"], "<b>"+to.GivenName+"</b>") {
				t.Errorf("MIME parts = %q", p.Parts)
			}
			if p.Header.Get("Auto-Submitted") != "auto-generated" {
				t.Errorf("Auto-Submitted = %q", p.Header.Get("Auto-Submitted"))
			}
			m := f.message(key)
			if m.Status != store.MessageSent || m.MessageID != wantID || !m.SentAt.Equal(t0) || m.Attempts != 0 {
				t.Errorf("outbox after sending = %+v", m)
			}
		}
		if m := f.message(later[0]); m.Status != store.MessageQueued {
			t.Errorf("message not yet due is %s", m.Status)
		}

		// A second pass sends nothing twice.
		f.pass(delivery.Stats{})
		if n := len(f.srv.Received()); n != 3 {
			t.Errorf("after a second pass the server has %d messages, want 3", n)
		}
		f.clock.Add(time.Minute)
		f.pass(delivery.Stats{Sent: 1})
		byKey(t, f.srv.Received())
		sent, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: f.intake.ID, Status: store.MessageSent})
		if err != nil || len(sent) != 4 {
			t.Errorf("sent messages = %d (%v), want 4", len(sent), err)
		}
	})
}

// TestServerDownThenUp: while the server refuses connections it is tried
// once a pass, not once per recipient, on a growing backoff of its own, and
// an operator is told; no message is charged an attempt for it and nothing
// overtakes; once the server is up, every message arrives once, in order
// per person, and the operator is told that too.
func TestServerDownThenUp(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		logs, observed := observer.New(zap.InfoLevel)
		f := newFixture(t, st, delivery.Options{Concurrency: 3, Logger: zap.New(logs)})
		people := []store.Person{f.person("Siân"), f.person("Rhys"), f.person("Owain")}
		var ids []uuid.UUID
		for _, p := range people {
			ids = append(ids, p.ID)
		}
		var order [][]string // order[i] = keys of person i in SendAt order
		order = make([][]string, len(people))
		for i := range 4 {
			for j, k := range f.queue(fmt.Sprintf("reminder.%d", i), t0.Add(time.Duration(i-4)*time.Minute), ids...) {
				order[j] = append(order[j], k)
			}
		}
		f.srv.Stop()

		f.pass(delivery.Stats{Unreachable: 1}) // one try of the server, for all three people
		f.wantNextDue(t0.Add(time.Minute))
		for i := range people {
			for _, k := range order[i] {
				if m := f.message(k); m.Status != store.MessageQueued || m.Attempts != 0 || m.LastError != "" || !m.NextAttemptAt.IsZero() {
					t.Errorf("after the server refused the connection, %s = %+v; want queued, charged nothing", k, m)
				}
			}
		}
		down := observed.FilterMessage(delivery.MailServerDownWarning).All()
		if len(down) != 1 || !strings.Contains(fmt.Sprint(down[0].ContextMap()["error"]), "connection refused") ||
			down[0].ContextMap()["failed_tries"] != int64(1) {
			t.Errorf("warnings that the server is down = %+v; want one, saying the connection was refused", down)
		}
		f.clock.Add(30 * time.Second)
		f.pass(delivery.Stats{}) // not yet time to try the server again
		f.clock.Add(30 * time.Second)
		f.pass(delivery.Stats{Unreachable: 1})
		f.wantNextDue(f.clock.Now().Add(2 * time.Minute))
		f.srv.Start()
		f.clock.Add(time.Minute)
		f.pass(delivery.Stats{}) // up, but not tried again yet
		f.clock.Add(time.Minute)
		f.pass(delivery.Stats{Sent: 12})
		f.pass(delivery.Stats{})
		if back := observed.FilterMessage(delivery.MailServerBackInfo).All(); len(back) != 1 ||
			back[0].ContextMap()["down_for"] != 3*time.Minute || back[0].ContextMap()["failed_tries"] != int64(2) {
			t.Errorf("notes that the server is back = %+v; want one, after 3 minutes and 2 failed tries", back)
		}

		got := f.srv.Received()
		if len(got) != 12 {
			t.Fatalf("server received %d messages, want 12", len(got))
		}
		byKey(t, got)
		for i, keys := range order {
			var arrived []string
			for _, r := range got {
				if r.To[0] == people[i].EmailAddress {
					msg, _ := mail.ReadMessage(bytes.NewReader(r.Data))
					arrived = append(arrived, msg.Header.Get("X-Infuse-Key"))
				}
			}
			if strings.Join(arrived, " ") != strings.Join(keys, " ") {
				t.Errorf("%s's messages arrived in order %v, want %v", people[i].GivenName, arrived, keys)
			}
		}
		if m := f.message(order[2][0]); m.Status != store.MessageSent || m.Attempts != 0 {
			t.Errorf("first message after the outage = %+v, want sent, charged no attempt for the outage", m)
		}
	})
}

// TestRefusals: a 5xx reply fails the message with the reason; a 4xx holds
// it back and it goes once the server accepts; neither names the address.
func TestRefusals(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, delivery.Options{})
		gone, busy, ok := f.person("Gwyn"), f.person("Nia"), f.person("Dafydd")
		f.srv.RefuseRecipient(gone.EmailAddress, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: "<" + gone.EmailAddress + ">: no such user here"})
		f.srv.RefuseRecipient(busy.EmailAddress, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
			Message: "mailbox temporarily unavailable"})
		keys := f.queue("offer.made", t0, gone.ID, busy.ID, ok.ID)

		f.pass(delivery.Stats{Sent: 1, Retried: 1, Failed: 1})
		g := f.message(keys[0])
		if g.Status != store.MessageFailed || !strings.Contains(g.LastError, "550") || !strings.Contains(g.LastError, "5.1.1") ||
			!strings.Contains(g.LastError, "no such user") {
			t.Errorf("after a 550: %+v", g)
		}
		b := f.message(keys[1])
		if b.Status != store.MessageQueued || b.Attempts != 1 || !strings.Contains(b.LastError, "451") {
			t.Errorf("after a 451: %+v", b)
		}
		for _, m := range []store.Message{g, b} {
			if strings.Contains(strings.ToLower(m.LastError), strings.ToLower(gone.EmailAddress)) ||
				strings.Contains(strings.ToLower(m.LastError), strings.ToLower(busy.EmailAddress)) {
				t.Errorf("reason names the address: %q", m.LastError)
			}
		}
		// Coordinators see the failure.
		failed, err := st.ListMessages(context.Background(), store.OutboxFilter{IntakeID: f.intake.ID, Status: store.MessageFailed})
		if err != nil || len(failed) != 1 || failed[0].RecipientID != gone.ID {
			t.Errorf("failed messages = %+v, %v", failed, err)
		}

		f.srv.RefuseRecipient(busy.EmailAddress, nil)
		f.clock.Add(time.Minute)
		f.pass(delivery.Stats{Sent: 1})
		if m := f.message(keys[1]); m.Status != store.MessageSent {
			t.Errorf("after the 451 cleared: %+v", m)
		}
		f.pass(delivery.Stats{})
		if n := len(f.srv.Received()); n != 2 {
			t.Errorf("server received %d messages, want 2", n)
		}
	})
}

// TestGivesUp: a message that keeps failing for now is failed after
// MaxAttempts, saying so.
func TestGivesUp(t *testing.T) {
	st := sqlitestore.OpenTest(t)
	f := newFixture(t, st, delivery.Options{MaxAttempts: 3})
	p := f.person("Siân")
	key := f.queue("offer.made", t0, p.ID)[0]
	f.srv.Refuse(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "try again later"})
	f.pass(delivery.Stats{Retried: 1})
	f.clock.Add(time.Minute)
	f.pass(delivery.Stats{Retried: 1})
	f.clock.Add(2 * time.Minute)
	f.pass(delivery.Stats{Failed: 1})
	m := f.message(key)
	if m.Status != store.MessageFailed || m.Attempts != 3 || !strings.Contains(m.LastError, "gave up after 3 attempts") ||
		!strings.Contains(m.LastError, "421") {
		t.Errorf("after 3 temporary failures: %+v", m)
	}
	f.clock.Add(time.Hour)
	f.pass(delivery.Stats{})
}

// TestBadRecipients: no e-mail address, a malformed one, an erased person
// and a template that does not render each fail with a clear reason, and do
// not hold up anyone else.
func TestBadRecipients(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journeys.db")
	st, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFixture(t, st, delivery.Options{})
	blank, bad, fine := f.person("Blank"), f.person("Bad"), f.person("Fine")
	// The store refuses such addresses on import; data from elsewhere (an
	// older import, a hand edit) may still hold them.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for id, email := range map[uuid.UUID]string{blank.ID: "", bad.ID: "bad.at.torfaen.gov.uk"} {
		if _, err := db.ExecContext(ctx, `UPDATE people SET email = ? WHERE id = ?`, email, id.String()); err != nil {
			t.Fatal(err)
		}
	}
	erased := uuid.New()
	kBlank := f.queue("offer.made", t0, blank.ID)[0]
	kBad := f.queue("offer.made", t0, bad.ID)[0]
	kErased := f.queue("offer.made", t0, erased)[0]
	kBroken := f.queue("broken", t0, fine.ID)[0]
	kFine := f.queue("offer.made", t0, fine.ID)[0]

	f.pass(delivery.Stats{Sent: 1, Failed: 4})
	for key, want := range map[string]string{
		kBlank:   "recipient " + blank.ID.String() + " has no e-mail address",
		kBad:     "recipient " + bad.ID.String() + " has a malformed e-mail address",
		kErased:  "not found",
		kBroken:  `composing the message failed (template "broken")`,
		kFine:    "",
		"ignore": "",
	} {
		if key == "ignore" {
			continue
		}
		m := f.message(key)
		if want == "" {
			if m.Status != store.MessageSent {
				t.Errorf("good message after bad ones = %+v", m)
			}
			continue
		}
		if m.Status != store.MessageFailed || !strings.Contains(m.LastError, want) {
			t.Errorf("message %s = %s %q, want failed with %q", key, m.Status, m.LastError, want)
		}
		if strings.Contains(m.LastError, "bad.at.torfaen") {
			t.Errorf("reason names the address: %q", m.LastError)
		}
	}
	if n := len(f.srv.Received()); n != 1 {
		t.Errorf("server received %d messages, want 1", n)
	}
}

func TestMessageID(t *testing.T) {
	a := delivery.MessageID("journey/1/reminder/adaption-1/7d", "")
	if a != delivery.MessageID("journey/1/reminder/adaption-1/7d", "") {
		t.Error("MessageID is not deterministic")
	}
	if a == delivery.MessageID("journey/1/reminder/adaption-1/1d", "") {
		t.Error("different keys give the same Message-ID")
	}
	if !regexp.MustCompile(`^<[0-9a-f]{32}@infuse-journeys>$`).MatchString(a) {
		t.Errorf("MessageID = %q", a)
	}
	if got := delivery.MessageID("k", "mail.example.org"); !strings.HasSuffix(got, "@mail.example.org>") {
		t.Errorf("MessageID with a domain = %q", got)
	}
}

func TestBackoff(t *testing.T) {
	d := delivery.New(nil, nil, nil, delivery.Options{})
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := d.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

// TestRun: the loop delivers what falls due and returns when cancelled.
func TestRun(t *testing.T) {
	st := sqlitestore.OpenTest(t)
	f := newFixture(t, st, delivery.Options{Poll: 20 * time.Millisecond})
	p := f.person("Siân")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.d.Run(ctx) }()
	f.queue("offer.made", t0, p.ID)
	deadline := time.Now().Add(5 * time.Second)
	for len(f.srv.Received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(f.srv.Received()) != 1 {
		t.Errorf("Run delivered %d messages, want 1", len(f.srv.Received()))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when cancelled")
	}
}

// TestSMTPErrors: how the SMTP sender classifies failures before the
// transaction and of the address.
func TestSMTPErrors(t *testing.T) {
	srv := startMailServer(t)
	email := delivery.Email{From: delivery.Address{Address: "infuse@example.org"},
		To: delivery.Address{Address: "sian@example.org"}, Subject: "s", Text: "t", MessageID: "<a@b>"}
	send := func(cfg delivery.SMTPConfig, e delivery.Email) error {
		cfg.Host, cfg.Port, cfg.Timeout = srv.host(), srv.port(), 5*time.Second
		s, err := delivery.NewSMTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s.Send(context.Background(), e)
	}
	// STARTTLS required, but this server offers none: the configuration,
	// not the message, so temporary, and the server out of reach.
	if err := send(delivery.SMTPConfig{TLS: delivery.STARTTLSMandatory}, email); err == nil || !delivery.IsTemporary(err) || !delivery.IsUnreachable(err) {
		t.Errorf("mandatory STARTTLS without it: %v (temporary %v, unreachable %v), want a temporary error, the server out of reach",
			err, delivery.IsTemporary(err), delivery.IsUnreachable(err))
	}
	// Opportunistic: goes in clear.
	if err := send(delivery.SMTPConfig{TLS: delivery.STARTTLSOpportunistic}, email); err != nil {
		t.Errorf("opportunistic STARTTLS: %v", err)
	}
	bad := email
	bad.To.Address = "not an address"
	err := send(delivery.SMTPConfig{TLS: delivery.NoTLS}, bad)
	if err == nil || delivery.IsTemporary(err) || delivery.IsUnreachable(err) || !errors.Is(err, delivery.ErrInvalidAddress) {
		t.Errorf("invalid address: %v, want a permanent ErrInvalidAddress", err)
	}
	// A 4xx to RCPT TO is about this recipient: the server was reached.
	srv.Refuse(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox temporarily unavailable"})
	if err := send(delivery.SMTPConfig{TLS: delivery.NoTLS}, email); !delivery.IsTemporary(err) || delivery.IsUnreachable(err) {
		t.Errorf("451 to RCPT TO: %v, want temporary, the server reached", err)
	}
	srv.Refuse(nil)
	// A 421 to the greeting is the server serving nobody: out of reach.
	srv.RefuseSessions(&smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "try again later"})
	if err := send(delivery.SMTPConfig{TLS: delivery.NoTLS}, email); !delivery.IsUnreachable(err) || !strings.Contains(err.Error(), "421") {
		t.Errorf("421 to EHLO: %v, want the server out of reach, with its reply", err)
	}
	srv.RefuseSessions(nil)
	if _, err := delivery.NewSMTP(delivery.SMTPConfig{Host: "x", TLS: "ssl3"}); err == nil {
		t.Error("NewSMTP accepted an unknown TLS mode")
	}
	// Attachments are carried, with their content type.
	withICS := email
	withICS.Attachments = []delivery.Attachment{{Name: "invite.ics", ContentType: "text/calendar",
		Data: []byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")}}
	if err := send(delivery.SMTPConfig{TLS: delivery.NoTLS}, withICS); err != nil {
		t.Fatal(err)
	}
	got := srv.Received()
	last := parse(t, got[len(got)-1].Data)
	if last.Parts["multipart"] != "multipart/mixed" || !strings.Contains(last.Parts["text/calendar"], "BEGIN:VCALENDAR") {
		t.Errorf("message with an attachment: %q", last.Parts)
	}
}

// A name with quotes or a backslash (Dai "Gaz" Jones) reaches the mail
// server quoted as RFC 5322 asks, and the message goes out: written into
// the header as typed, it made the recipient's address unparseable and
// every message to them, sign-in links included, fail for good.
func TestNamesWithQuotesAreSent(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		f := newFixture(t, st, delivery.Options{})
		p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: `Dai "Gaz"`, FamilyName: `Jones\Bach`,
			EmailAddress: fmt.Sprintf("dai.%s@torfaen.gov.uk", uuid.NewString()[:8]), LocalAuthority: "Torfaen"}
		if err := st.CreatePeople(context.Background(), []store.Person{p}); err != nil {
			t.Fatal(err)
		}
		f.queue("reminder", t0.Add(-time.Minute), p.ID)
		f.pass(delivery.Stats{Sent: 1})
		got := f.srv.Received()
		if len(got) != 1 {
			t.Fatalf("the server received %d messages, want 1", len(got))
		}
		to, err := parse(t, got[0].Data).Header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Name != p.GivenName+" "+p.FamilyName || to[0].Address != p.EmailAddress {
			t.Errorf("To: %v (%v), want %q <%s>", to, err, p.GivenName+" "+p.FamilyName, p.EmailAddress)
		}
	})
}
