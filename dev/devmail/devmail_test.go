package devmail_test

import (
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/delivery"
)

// clock hands out arrival times a second apart, from a fixed start.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func start(t *testing.T, now func() time.Time) *devmail.Server {
	t.Helper()
	s, err := devmail.Start(devmail.Options{Dir: filepath.Join(t.TempDir(), "mailbox"), Port: 0, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// sender is the production SMTP sender (go-mail) pointed at the mailbox.
func sender(t *testing.T, s *devmail.Server) *delivery.SMTP {
	t.Helper()
	snd, err := delivery.NewSMTP(delivery.SMTPConfig{Host: s.Host(), Port: s.Port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return snd
}

func send(t *testing.T, snd *delivery.SMTP, e delivery.Email) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := snd.Send(ctx, e); err != nil {
		t.Fatalf("sending %q: %v", e.Subject, err)
	}
}

const welshSubject = "Nodyn atgoffa: Labordy Addasu yfory — dewch â’ch cynllun i’r ŵyl"

func welshInvite() delivery.Email {
	return delivery.Email{
		From:      delivery.Address{Name: "Infuse", Address: "infuse@localhost"},
		To:        delivery.Address{Name: "Siân O'Brien", Address: "sian@example.org"},
		Subject:   welshSubject,
		Text:      "Annwyl Siân,\n\nMae'r labordy yn dechrau am 10:00 ddydd Gwener 8 Hydref.\n",
		HTML:      "<p>Annwyl Siân,</p><p>Mae'r labordy yn dechrau am 10:00.</p>",
		MessageID: "<0123abcd@infuse-journeys>",
		Attachments: []delivery.Attachment{{Name: "invite.ics", ContentType: "text/calendar; charset=utf-8; method=REQUEST",
			Data: []byte("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x@infuse\r\nSUMMARY:Labordy Addasu\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")}},
	}
}

// Messages sent by go-mail (the production sender) and by net/smtp reach
// the folder, are listed oldest first with decoded Welsh subjects and
// names, and read back with their text, HTML and invite.
func TestReceiveListRead(t *testing.T) {
	c := &clock{t: time.Date(2021, 10, 5, 8, 59, 59, 123e6, time.UTC)}
	s := start(t, c.now)
	send(t, sender(t, s), welshInvite())

	plain := "From: Megan Howells <megan@example.org>\r\nTo: nia@example.org\r\nSubject: Plain English\r\n\r\nNo Message-ID here.\r\n"
	if err := smtp.SendMail(s.Addr(), nil, "megan@example.org", []string{"nia@example.org", "bcc@example.org"}, []byte(plain)); err != nil {
		t.Fatalf("net/smtp: %v", err)
	}

	list, err := devmail.List(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d messages listed, want 2: %+v", len(list), list)
	}
	w, p := list[0], list[1]
	if w.File != "20211005T090000.123Z-0123abcd@infuse-journeys.eml" {
		t.Errorf("file name %q", w.File)
	}
	if !w.Received.Equal(time.Date(2021, 10, 5, 9, 0, 0, 123e6, time.UTC)) {
		t.Errorf("received %v", w.Received)
	}
	if w.Subject != welshSubject {
		t.Errorf("subject %q, want %q", w.Subject, welshSubject)
	}
	if w.To != "Siân O'Brien <sian@example.org>" || w.From != "Infuse <infuse@localhost>" || w.MessageID != "<0123abcd@infuse-journeys>" {
		t.Errorf("from %q to %q id %q", w.From, w.To, w.MessageID)
	}
	if !w.HasInvite || p.HasInvite {
		t.Errorf("invites: %v, %v", w.HasInvite, p.HasInvite)
	}
	if p.Subject != "Plain English" || p.To != "nia@example.org" || !strings.HasSuffix(p.File, "-no-message-id.eml") {
		t.Errorf("plain message: %+v", p)
	}

	m, err := devmail.Read(s.Dir(), w.File)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Annwyl Siân") || !strings.Contains(m.Text, "8 Hydref") || !strings.Contains(m.HTML, "<p>Annwyl Siân,</p>") {
		t.Errorf("text %q, html %q", m.Text, m.HTML)
	}
	var ics *devmail.Part
	for i := range m.Parts {
		if m.Parts[i].FileName == "invite.ics" {
			ics = &m.Parts[i]
		}
	}
	if ics == nil || !strings.Contains(string(ics.Data), "METHOD:REQUEST") || !strings.Contains(ics.ContentType, "text/calendar") {
		t.Errorf("no readable invite among %d parts", len(m.Parts))
	}
	if got := m.Header.Get("Delivered-To"); got != "sian@example.org" {
		t.Errorf("Delivered-To %q", got)
	}
	pm, err := devmail.Read(s.Dir(), p.File)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Text != "No Message-ID here.\r\n" || len(pm.Header["Delivered-To"]) != 2 {
		t.Errorf("plain text %q, Delivered-To %q", pm.Text, pm.Header["Delivered-To"])
	}
}

// A message delivered twice (at-least-once) is kept twice, in order, not
// overwritten, even within one millisecond.
func TestDuplicateKeptTwice(t *testing.T) {
	at := time.Date(2021, 10, 31, 1, 30, 0, 0, time.UTC)
	s := start(t, func() time.Time { return at })
	snd := sender(t, s)
	send(t, snd, welshInvite())
	send(t, snd, welshInvite())
	list, err := devmail.List(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"20211031T013000.000Z-0123abcd@infuse-journeys.eml", "20211031T013000.001Z-0123abcd@infuse-journeys.eml"}
	if len(list) != 2 || list[0].File != want[0] || list[1].File != want[1] {
		t.Errorf("files %+v, want %q", list, want)
	}
	leftovers, _ := filepath.Glob(filepath.Join(s.Dir(), ".incoming-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %q", leftovers)
	}
}

// Many clients at once: every message is kept under its own name.
func TestConcurrentSenders(t *testing.T) {
	s := start(t, nil)
	snd := sender(t, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := welshInvite()
			e.MessageID = fmt.Sprintf("<m%d@infuse-journeys>", i)
			send(t, snd, e)
		}()
	}
	wg.Wait()
	list, err := devmail.List(s.Dir())
	if err != nil || len(list) != 8 {
		t.Fatalf("%d messages (%v), want 8", len(list), err)
	}
}

func TestReadRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "../secret.eml", "sub/x.eml", "notes.txt", "20211005T090000.000Z-gone.eml"} {
		if _, err := devmail.Read(dir, name); !errors.Is(err, devmail.ErrNoMessage) {
			t.Errorf("Read(%q): %v, want ErrNoMessage", name, err)
		}
	}
	if list, err := devmail.List(filepath.Join(dir, "absent")); err != nil || len(list) != 0 {
		t.Errorf("missing folder: %v, %v", list, err)
	}
	// A half-written file is not listed; other files are ignored.
	if err := os.WriteFile(filepath.Join(dir, ".incoming-1"), []byte("From: x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if list, err := devmail.List(dir); err != nil || len(list) != 0 {
		t.Errorf("non-messages listed: %v, %v", list, err)
	}
}

// A taken port is reported by Start, not later.
func TestPortInUse(t *testing.T) {
	s := start(t, nil)
	_, err := devmail.Start(devmail.Options{Dir: t.TempDir(), Port: s.Port()})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(s.Port())) {
		t.Errorf("second server on port %d: %v", s.Port(), err)
	}
}
