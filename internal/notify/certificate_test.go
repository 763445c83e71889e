package notify_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/dev/testdeps"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/store"
)

func (f fixture) complete(t *testing.T) {
	t.Helper()
	_, err := f.st.Record(context.Background(), store.Event{Key: "j/completed", IntakeID: f.intake, JourneyID: f.journey,
		Type: "journey.completed", OccurredAt: at(2022, 3, 31, 16), Snapshot: &store.JourneySnapshot{JourneyID: f.journey,
			IntakeID: f.intake, PersonID: f.participant.ID, CoachID: f.coach.ID, State: "completed", Outcome: "completed"}})
	must(t, err)
}

func (f fixture) completion() store.Message {
	return store.Message{Key: "j/completion", IntakeID: f.intake, JourneyID: f.journey, RecipientID: f.participant.ID,
		Role: store.RoleParticipant, Template: messages.Completion, SendAt: at(2022, 4, 1, 9)}
}

// A participant who completes gets their certificate with the completion
// e-mail: a PDF whose code the store confirms, the same code on a retry.
func TestCompletionCarriesCertificate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.LanguageUnknown)
	f.complete(t)
	e, err := f.c.Compose(ctx, f.completion())
	must(t, err)
	if len(e.Attachments) != 1 {
		t.Fatalf("%d attachments, want the certificate", len(e.Attachments))
	}
	a := e.Attachments[0]
	if a.Name != "certificate.pdf" || a.ContentType != "application/pdf" || !bytes.HasPrefix(a.Data, []byte("%PDF-")) {
		t.Fatalf("attachment %q %q starting %q", a.Name, a.ContentType, a.Data[:min(8, len(a.Data))])
	}
	issued, err := f.st.CertificateOf(ctx, f.journey)
	must(t, err)
	if issued.PersonID != f.participant.ID || issued.IntakeID != f.intake || !issued.IssuedAt.Equal(at(2022, 3, 31, 16)) {
		t.Errorf("issued %+v", issued)
	}
	if v, err := f.st.VerifyCertificate(ctx, strings.ToLower(issued.Code)); err != nil || v.JourneyID != f.journey {
		t.Errorf("VerifyCertificate(%s): %+v, %v", issued.Code, v, err)
	}

	again, err := f.c.Compose(ctx, f.completion())
	must(t, err)
	if !bytes.Equal(again.Attachments[0].Data, a.Data) {
		t.Error("composing the message again gave another certificate")
	}
	// The attached certificate's text, read back with pdftotext: a subtest,
	// so that without pdftotext only this part is skipped.
	t.Run("text", func(t *testing.T) {
		tool := testdeps.Command(t, "pdftotext", "apt-get install -y poppler-utils")
		path := filepath.Join(t.TempDir(), "c.pdf")
		must(t, os.WriteFile(path, a.Data, 0o600))
		out, err := exec.Command(tool, "-enc", "UTF-8", path, "-").Output()
		must(t, err)
		text := strings.Join(strings.Fields(string(out)), " ")
		for _, want := range []string{"Siân O'Brien", "Cohort 1", "31 Mawrth 2022", "31 March 2022", issued.Code} {
			if !strings.Contains(text, want) {
				t.Errorf("certificate text lacks %q:\n%s", want, text)
			}
		}
	})

	// Other notices carry no certificate.
	m := f.completion()
	m.Key, m.Template = "j/started", messages.IntakeStarted
	other, err := f.c.Compose(ctx, m)
	must(t, err)
	if len(other.Attachments) != 0 {
		t.Errorf("%s carries %d attachments", m.Template, len(other.Attachments))
	}
}

// A completion message for a journey the store does not show as completed
// is a bug upstream: it fails for good, saying why, and issues nothing.
func TestCompletionOfUncompletedJourneyFails(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.LanguageEnglish)
	_, err := f.c.Compose(ctx, f.completion())
	if err == nil || delivery.IsTemporary(err) || !strings.Contains(err.Error(), "not completed") {
		t.Fatalf("Compose: %v, want a permanent failure saying the journey has not completed", err)
	}
	if _, err := f.st.CertificateOf(ctx, f.journey); err == nil {
		t.Error("a certificate was issued for a journey that has not completed")
	}
}

// An unrendered composer (the preview's) issues the certificate and attaches
// it by name, without its PDF; one for a journey not completed still fails
// for good.
func TestUnrenderedCertificateIsIssuedButNotDrawn(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.LanguageEnglish)
	f.c.Unrendered = true
	if _, err := f.c.Compose(ctx, f.completion()); err == nil || delivery.IsTemporary(err) {
		t.Fatalf("Compose before completion: %v, want a permanent failure", err)
	}
	f.complete(t)
	e, err := f.c.Compose(ctx, f.completion())
	must(t, err)
	if len(e.Attachments) != 1 {
		t.Fatalf("%d attachments, want the certificate", len(e.Attachments))
	}
	if a := e.Attachments[0]; a.Name != "certificate.pdf" || a.ContentType != "application/pdf" || len(a.Data) != 0 {
		t.Errorf("attachment %q %q with %d bytes, want certificate.pdf unrendered", a.Name, a.ContentType, len(a.Data))
	}
	if _, err := f.st.CertificateOf(ctx, f.journey); err != nil {
		t.Errorf("no certificate issued: %v", err)
	}
}
