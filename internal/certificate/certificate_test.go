package certificate_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/testdeps"
	"github.com/infuse-cymru/journeys/internal/certificate"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

func sample() certificate.Certificate {
	return certificate.Certificate{
		ParticipantName: "Siân Ŵyn Tŷ-Gwyn",
		IntakeName:      "Cohort 1",
		CompletedAt:     time.Date(2022, 3, 31, 23, 30, 0, 0, time.UTC), // 1 April in London (BST)
		Labs: []programme.Text{
			{CY: "Labordy Addasu", EN: "Adaption Lab"},
			{CY: "Labordy Caffael", EN: "Procurement Lab"},
			{CY: "Labordy Data", EN: "Data Lab"},
		},
		Code: "ABCDE-FGHJK",
	}
}

// The PDF is a complete PDF file with the DejaVu fonts embedded (so ŵ
// and ŷ show on any reader) and renders the same bytes every time.
func TestRenderIsPDFWithEmbeddedFont(t *testing.T) {
	pdf, err := certificate.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) {
		t.Errorf("does not start with a PDF header: %q", pdf[:min(len(pdf), 16)])
	}
	if tail := bytes.TrimRight(pdf, "\r\n"); !bytes.HasSuffix(tail, []byte("%%EOF")) || !bytes.Contains(pdf, []byte("startxref")) {
		t.Errorf("no trailer (startxref … %%%%EOF) at the end")
	}
	for _, want := range []string{"/FontFile2", "/Type /Font", "dejavu", "/Lang (cy)"} {
		if !bytes.Contains(bytes.ToLower(pdf), bytes.ToLower([]byte(want))) {
			t.Errorf("PDF lacks %q", want)
		}
	}
	again, err := certificate.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pdf, again) {
		t.Error("rendering the same certificate twice gave different bytes")
	}
}

// The text, read back with pdftotext (Debian's poppler-utils): Welsh
// first, every field there, ŵ ŷ â î intact.
func TestRenderTextWelshFirst(t *testing.T) {
	tool := testdeps.Command(t, "pdftotext", "apt-get install -y poppler-utils")
	pdf, err := certificate.Render(sample())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	t.Logf("text: %s", text)
	inOrder(t, text,
		"Tystysgrif Cwblhau", "Certificate of Completion",
		"Siân Ŵyn Tŷ-Gwyn",
		"am gwblhau Infuse – Innovative Future Services, Cohort 1, ar 1 Ebrill 2022",
		"Labordy Addasu, Labordy Caffael, Labordy Data",
		"for completing Infuse – Innovative Future Services, Cohort 1, on 1 April 2022",
		"Adaption Lab, Procurement Lab, Data Lab",
		"ABCDE-FGHJK",
		"I wirio'r dystysgrif hon, gofynnwch i dîm rhaglen Infuse", "To verify this certificate")
}

func inOrder(t *testing.T, text string, parts ...string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(text[at:], p)
		if i < 0 {
			t.Errorf("%q missing, or not after what comes before it, in:\n%s", p, text)
			return
		}
		at += i + len(p)
	}
}

func TestRenderRefusesIncomplete(t *testing.T) {
	for name, c := range map[string]func(*certificate.Certificate){
		"no name": func(c *certificate.Certificate) { c.ParticipantName = " " },
		"no code": func(c *certificate.Certificate) { c.Code = "" },
		"no date": func(c *certificate.Certificate) { c.CompletedAt = time.Time{} },
	} {
		s := sample()
		c(&s)
		if _, err := certificate.Render(s); err == nil || !certificate.Permanent(err) {
			t.Errorf("%s: Render error %v, want a permanent one", name, err)
		}
	}
}

func TestDates(t *testing.T) {
	cy, en := certificate.Dates(time.Date(2021, 10, 31, 23, 30, 0, 0, time.UTC), nil)
	if cy != "31 Hydref 2021" || en != "31 October 2021" {
		t.Errorf("Dates = %q, %q", cy, en)
	}
}

// ForJourney issues the certificate of a completed journey once, dated when
// it completed, and refuses one that has not completed.
func TestForJourney(t *testing.T) {
	ctx := context.Background()
	st := sqlitestore.OpenTest(t)
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Gwenllïan", FamilyName: "Ŷr",
		EmailAddress: "g@example.org", Language: store.LanguageWelsh}
	in := store.Intake{ID: uuid.New(), Name: "Cohort 2", ProgrammeID: "infuse", ProgrammeVersion: 1, Status: store.IntakeStarted}
	if err := st.CreatePeople(ctx, []store.Person{p}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	record := func(key, state string, at time.Time) {
		t.Helper()
		if _, err := st.Record(ctx, store.Event{Key: key, IntakeID: in.ID, JourneyID: journey, Type: "journey." + state, OccurredAt: at,
			Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: p.ID, State: contract.Status(state)}}); err != nil {
			t.Fatal(err)
		}
	}
	record("1", "experimentation", time.Date(2022, 1, 5, 9, 0, 0, 0, time.UTC))
	_, _, err := certificate.ForJourney(ctx, st, journey)
	if !errors.Is(err, certificate.ErrNotCompleted) || !certificate.Permanent(err) {
		t.Errorf("ForJourney on a journey in experimentation: %v, want ErrNotCompleted", err)
	}
	if _, _, err := certificate.ForJourney(ctx, st, uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ForJourney on an unknown journey: %v, want ErrNotFound", err)
	}

	record("2", "completed", time.Date(2022, 4, 1, 16, 0, 0, 0, time.UTC))
	c, issued, err := certificate.ForJourney(ctx, st, journey)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}$`).MatchString(c.Code) || c.Code != issued.Code {
		t.Errorf("code %q (issued %q)", c.Code, issued.Code)
	}
	if c.ParticipantName != "Gwenllïan Ŷr" || c.IntakeName != "Cohort 2" || len(c.Labs) != 3 || c.Labs[0].CY != "Labordy Addasu" {
		t.Errorf("certificate %+v", c)
	}
	if cy, _ := certificate.Dates(c.CompletedAt, c.Location); cy != "1 Ebrill 2022" {
		t.Errorf("dated %s (%v)", cy, c.CompletedAt)
	}
	again, _, err := certificate.ForJourney(ctx, st, journey)
	if err != nil || again.Code != c.Code {
		t.Errorf("second ForJourney: code %q, %v; want %q", again.Code, err, c.Code)
	}
	if v, err := st.VerifyCertificate(ctx, strings.ToLower(c.Code)); err != nil || v.JourneyID != journey {
		t.Errorf("VerifyCertificate: %+v, %v", v, err)
	}
	if _, err := certificate.Render(c); err != nil {
		t.Error(err)
	}
}
