package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// runInfuse runs one command line and returns its exit code and output.
func runInfuse(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	checkJSONOutput(t, args, r)
	return r
}

// Dev mode's wiring end to end, without Temporal: a queued offer in a real
// store is delivered by the dev Deliverer to the dev mailbox, rendered in
// Welsh for a Welsh speaker; `infuse mail list` and `show` read it back
// with its Welsh subject, and a message that cannot be rendered shows up in
// `infuse mail outbox --status failed` with the reason.
func TestDevMailDelivery(t *testing.T) {
	isolateEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	db := filepath.Join(dataDir, storeFileName)
	mailbox, err := startDevMailbox(dataDir, 0, zap.NewNop()) // creates dataDir
	if err != nil {
		t.Fatal(err)
	}
	defer stopDevMailbox(mailbox, zap.NewNop())
	st, err := sqlitestore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	sian := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Siân", FamilyName: "Ŵyn",
		EmailAddress: "sian@example.org", LocalAuthority: "Newport", Theme: "communities", Language: store.LanguageWelsh}
	bad := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Bryn", FamilyName: "Typo",
		EmailAddress: "bryn@example.org", LocalAuthority: "Torfaen", Theme: "communities", Language: store.LanguageEnglish}
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"}
	if err := st.CreatePeople(ctx, []store.Person{sian, bad, coord}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	intake := store.Intake{ID: uuid.New(), Name: "Carfan Gŵyl Dewi", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: now.Add(-48 * time.Hour), ClosesAt: now.Add(48 * time.Hour), StartsOn: now.AddDate(0, 0, 14).Truncate(24 * time.Hour),
		Capacity: 20, CoordinatorID: coord.ID, Status: store.IntakeOpen}
	if err := st.CreateIntake(ctx, intake); err != nil {
		t.Fatal(err)
	}
	offer := func(p store.Person, template string) (store.Event, store.Message) {
		j := uuid.New()
		ev := store.Event{Key: "journey/" + j.String() + "/1", IntakeID: intake.ID, JourneyID: j, Type: "application.offered",
			OccurredAt: now, Snapshot: &store.JourneySnapshot{JourneyID: j, IntakeID: intake.ID, PersonID: p.ID, State: "offered"}}
		m := store.Message{Key: "journey/" + j.String() + "/offer", IntakeID: intake.ID, JourneyID: j, RecipientID: p.ID,
			Role: store.RoleParticipant, Template: template, ItemID: "offer", ItemStartsAt: now, ItemEndsAt: now.AddDate(0, 0, 7),
			Channel: "email", SendAt: now.Add(-time.Minute)}
		return ev, m
	}
	for p, template := range map[store.Person]string{sian: "offer", bad: "no-such-template"} {
		ev, m := offer(p, template)
		if _, err := st.Record(ctx, ev, m); err != nil {
			t.Fatal(err)
		}
	}

	stopDelivery, err := startDelivery(ctx, st, devMailSettings(mailbox, false), 50*time.Millisecond, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	for {
		sent, _ := st.ListMessages(ctx, store.OutboxFilter{Status: store.MessageSent})
		failed, _ := st.ListMessages(ctx, store.OutboxFilter{Status: store.MessageFailed})
		if len(sent) == 1 && len(failed) == 1 {
			break
		}
		if ctx.Err() != nil {
			all, _ := st.ListMessages(context.Background(), store.OutboxFilter{})
			t.Fatalf("not delivered in time: %+v", all)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopDelivery()

	r := runInfuse(t, "mail", "list", "--data-dir", dataDir)
	if r.code != 0 {
		t.Fatalf("mail list: exit %d: %s", r.code, r.stderr)
	}
	t.Logf("infuse mail list:\n%s", r.stdout)
	for _, want := range []string{"Cynnig lle ar Infuse: Carfan Gŵyl Dewi", "Siân Ŵyn <sian@example.org>", "1 e-mail(s)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mail list does not show %q", want)
		}
	}
	if strings.Contains(r.stdout, "bryn") {
		t.Errorf("a message that does not render was sent")
	}

	r = runInfuse(t, "mail", "list", "--data-dir", dataDir, "--json")
	var list []devmail.Summary
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("mail list --json: %v: %s", err, r.stdout)
	}
	r = runInfuse(t, "mail", "show", "--data-dir", dataDir, list[0].File[:15])
	if r.code != 0 || !strings.Contains(r.stdout, "Llongyfarchiadau") || !strings.Contains(r.stdout, "Subject:    Cynnig lle ar Infuse") ||
		!strings.Contains(r.stdout, "Language:   cy") {
		t.Errorf("mail show: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}

	r = runInfuse(t, "mail", "show", "--data-dir", dataDir, list[0].File, "--json")
	var shown struct {
		File string `json:"file"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown.File != list[0].File || !strings.Contains(shown.Text, "Llongyfarchiadau") {
		t.Errorf("mail show --json: exit %d, %v: %s%s", r.code, err, r.stdout, r.stderr)
	}

	r = runInfuse(t, "--database", db, "mail", "outbox", "--status", "failed")
	if r.code != 0 || !strings.Contains(r.stdout, "Bryn Typo") || !strings.Contains(r.stdout, "no-such-template") || strings.Contains(r.stdout, "Siân") {
		t.Errorf("mail outbox --status failed: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runInfuse(t, "--database", db, "mail", "outbox", "--intake", intake.ID.String(), "--json")
	var rows []outboxRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("mail outbox --json: %v: %s", err, r.stdout)
	}
}

// The mail commands' mistakes: exit 2 for bad usage, 4 for nothing there.
func TestMailCommandErrors(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		code int
		args []string
		want string
	}{
		{exitNotFound, []string{"mail", "list", "--data-dir", filepath.Join(dir, "absent")}, "is `infuse dev` running"},
		{exitNotFound, []string{"mail", "show", "--data-dir", dir, "2021"}, "no e-mail"},
		{exitInvalid, []string{"mail", "outbox", "--status", "lost"}, "queued, sent or failed"},
		{exitInvalid, []string{"mail", "outbox", "--intake", "nope"}, "not an ID"},
	} {
		r := runInfuse(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("infuse %s: exit %d (want %d): %s", strings.Join(tc.args, " "), r.code, tc.code, r.stderr)
		}
	}
	r := runInfuse(t, "mail", "list", "--data-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "No e-mail") {
		t.Errorf("empty mailbox: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

// The worker's e-mail settings from the environment.
func TestMailFromEnv(t *testing.T) {
	isolateEnv(t)
	if _, ok, err := mailFromEnv(); ok || err != nil {
		t.Errorf("no host: ok %v, err %v", ok, err)
	}
	t.Setenv(envSMTPHost, "smtp.example.org")
	if _, _, err := mailFromEnv(); err == nil || !strings.Contains(err.Error(), envMailFrom) {
		t.Errorf("host without from: %v", err)
	}
	t.Setenv(envMailFrom, "Infuse Cymru <infuse@example.org>")
	ms, ok, err := mailFromEnv()
	if err != nil || !ok || ms.smtp.Port != 587 || ms.smtp.TLS != "starttls" || ms.from.Name != "Infuse Cymru" || ms.from.Address != "infuse@example.org" {
		t.Errorf("defaults: %+v %v %v", ms, ok, err)
	}
	t.Setenv(envSMTPTLS, "tls")
	if ms, _, _ := mailFromEnv(); ms.smtp.Port != 465 {
		t.Errorf("implicit TLS port %d", ms.smtp.Port)
	}
	t.Setenv(envSMTPPort, "2587")
	if ms, _, _ := mailFromEnv(); ms.smtp.Port != 2587 {
		t.Errorf("port %d", ms.smtp.Port)
	}
	for k, v := range map[string]string{envSMTPTLS: "ssl", envSMTPPort: "smtp", envMailFrom: "not an address"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, _, err := mailFromEnv(); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%q: %v", k, v, err)
			}
		})
	}
}
