// Package certificate makes the completion certificate a participant
// receives when their journey completes: a one-page PDF, in Welsh and then
// English (Welsh Language Standards: Welsh first, never less favourably),
// carrying a verification code that the store can confirm
// (store.Store.VerifyCertificate; `infuse certificate verify CODE`).
//
// The PDF is built with github.com/go-pdf/fpdf. Its core fonts are
// cp1252, which lacks ŵ and ŷ, so the DejaVu Sans fonts (fonts/, with
// their licence) are embedded in the binary and subset into each PDF.
package certificate

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

//go:embed fonts/DejaVuSans.ttf fonts/DejaVuSans-Bold.ttf
var fonts embed.FS

// ProgrammeName is the programme's full name as the certificate gives it.
// It is a proper name, the same in both languages.
const ProgrammeName = "Infuse – Innovative Future Services"

// Certificate is what one certificate says.
type Certificate struct {
	ParticipantName string
	IntakeName      string
	// CompletedAt is when the journey completed; the certificate shows
	// its date in Location (Europe/London if nil).
	CompletedAt time.Time
	Location    *time.Location
	// Labs are the names of the programme's labs, in order.
	Labs []programme.Text
	// Code is the verification code, as printed ("XXXXX-XXXXX").
	Code string
	// VerifyAt, if set, is where people can check a code (a web address);
	// otherwise the certificate says to ask the programme team.
	VerifyAt string
}

// phrase is one of the certificate's phrases in Welsh and English.
type phrase struct{ CY, EN string }

// words are the certificate's phrases, in one place so that the tests can
// check the Welsh's spelling (dev/welsh).
var words = struct {
	Title, AwardedTo, Completing, Including, Code, AskTeam, EnterAt phrase
}{
	Title:      phrase{"Tystysgrif Cwblhau", "Certificate of Completion"},
	AwardedTo:  phrase{"Dyfernir y dystysgrif hon i", "This certificate is awarded to"},
	Completing: phrase{"am gwblhau %s, %s, ar %s", "for completing %s, %s, on %s"},
	Including:  phrase{",\ngan gynnwys y labordai: ", ",\nincluding the labs: "},
	Code:       phrase{"Cod dilysu", "Verification code"},
	AskTeam:    phrase{"I wirio'r dystysgrif hon, gofynnwch i dîm rhaglen Infuse gadarnhau'r cod.", "To verify this certificate, ask the Infuse programme team to confirm the code."},
	EnterAt:    phrase{"I wirio'r dystysgrif hon, rhowch y cod yn %s.", "To verify this certificate, enter the code at %s."},
}

// Welsh month names. (Package messages keeps its own, unexported, with the
// weekday names its longer dates need; a certificate's date has no weekday.)
var welshMonths = [...]string{
	time.January: "Ionawr", time.February: "Chwefror", time.March: "Mawrth", time.April: "Ebrill",
	time.May: "Mai", time.June: "Mehefin", time.July: "Gorffennaf", time.August: "Awst",
	time.September: "Medi", time.October: "Hydref", time.November: "Tachwedd", time.December: "Rhagfyr",
}

// Dates returns the day of t in loc as written in Welsh ("31 Mawrth 2022")
// and in English ("31 March 2022").
func Dates(t time.Time, loc *time.Location) (cy, en string) {
	if loc == nil {
		loc = london
	}
	t = t.In(loc)
	return strconv.Itoa(t.Day()) + " " + welshMonths[t.Month()] + " " + strconv.Itoa(t.Year()), t.Format("2 January 2006")
}

var london = mustLocation("Europe/London")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name) // programme imports time/tzdata
	if err != nil {
		panic(err)
	}
	return loc
}

// Check says why c cannot be rendered, if it cannot: what Render checks
// before it draws. Render can fail after it (its embedded fonts unread,
// the PDF not written), which only a broken build would make happen.
func Check(c Certificate) error {
	if strings.TrimSpace(c.ParticipantName) == "" {
		return fmt.Errorf("%w: no participant name", errData)
	}
	if c.Code == "" {
		return fmt.Errorf("%w: no verification code", errData)
	}
	if c.CompletedAt.IsZero() {
		return fmt.Errorf("%w: no completion date", errData)
	}
	return nil
}

// Render builds the certificate's PDF.
func Render(c Certificate) ([]byte, error) {
	if err := Check(c); err != nil {
		return nil, err
	}
	regular, err := fonts.ReadFile("fonts/DejaVuSans.ttf")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errData, err)
	}
	bold, err := fonts.ReadFile("fonts/DejaVuSans-Bold.ttf")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errData, err)
	}
	dateCY, dateEN := Dates(c.CompletedAt, c.Location)
	var labsCY, labsEN []string
	for _, l := range c.Labs {
		labsCY, labsEN = append(labsCY, l.CY), append(labsEN, l.EN)
	}

	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("DejaVu", "", regular)
	pdf.AddUTF8FontFromBytes("DejaVu", "B", bold)
	pdf.SetTitle(words.Title.CY+" / "+words.Title.EN+" – "+c.ParticipantName, true)
	pdf.SetSubject(ProgrammeName+" – "+c.IntakeName, true)
	pdf.SetCreator(ProgrammeName, true)
	pdf.SetLang("cy")
	// The same certificate renders to the same bytes, whenever it is made.
	pdf.SetCreationDate(c.CompletedAt)
	pdf.SetModificationDate(c.CompletedAt)
	pdf.SetCatalogSort(true)
	pdf.SetMargins(25, 20, 25)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()

	w, h := pdf.GetPageSize()
	pdf.SetDrawColor(0x1f, 0x5f, 0x5b)
	pdf.SetLineWidth(1.5)
	pdf.Rect(10, 10, w-20, h-20, "D")
	pdf.SetLineWidth(0.4)
	pdf.Rect(13, 13, w-26, h-26, "D")

	text := func(style string, size float64, grey bool, s string) {
		pdf.SetFont("DejaVu", style, size)
		if grey {
			pdf.SetTextColor(0x55, 0x55, 0x55)
		} else {
			pdf.SetTextColor(0x11, 0x11, 0x11)
		}
		pdf.MultiCell(0, size*0.5, s, "", "C", false)
	}

	pdf.SetY(24)
	text("B", 30, false, words.Title.CY)
	pdf.Ln(1)
	text("", 20, true, words.Title.EN)
	pdf.Ln(6)
	text("", 12, false, words.AwardedTo.CY)
	text("", 10, true, words.AwardedTo.EN)
	pdf.Ln(3)
	text("B", 26, false, c.ParticipantName)
	pdf.Ln(5)

	cy := fmt.Sprintf(words.Completing.CY, ProgrammeName, c.IntakeName, dateCY)
	en := fmt.Sprintf(words.Completing.EN, ProgrammeName, c.IntakeName, dateEN)
	if len(labsCY) > 0 {
		cy += words.Including.CY + strings.Join(labsCY, ", ")
		en += words.Including.EN + strings.Join(labsEN, ", ")
	}
	text("", 13, false, cy+".")
	pdf.Ln(3)
	text("", 11, true, en+".")

	pdf.SetY(h - 52)
	text("B", 12, false, words.Code.CY+" / "+words.Code.EN+": "+c.Code)
	pdf.Ln(2)
	howCY, howEN := words.AskTeam.CY, words.AskTeam.EN
	if c.VerifyAt != "" {
		howCY, howEN = fmt.Sprintf(words.EnterAt.CY, c.VerifyAt), fmt.Sprintf(words.EnterAt.EN, c.VerifyAt)
	}
	text("", 10, false, howCY)
	text("", 9, true, howEN)

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("%w: rendering the PDF: %w", errData, err)
	}
	return buf.Bytes(), nil
}

// ErrNotCompleted is ForJourney's error for a journey that has not
// completed: only completed journeys have certificates.
var ErrNotCompleted = errors.New("the journey has not completed")

// errData marks a failure no retry can mend (programme data, rendering).
var errData = errors.New("cannot make the certificate")

// Permanent reports whether err, from ForJourney or Render, will happen
// again however often it is retried: a journey, person or intake that is
// not in the store (an erased participant), a journey that has not
// completed, bad programme data. Other errors (the store unreachable) may
// pass on a retry.
func Permanent(err error) bool {
	for _, target := range []error{store.ErrNotFound, store.ErrInvalid, store.ErrConflict, ErrNotCompleted, errData} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Records is the store as certificates use it: the journey, its
// participant and intake as they are now, and the certificate, issued once.
type Records interface {
	GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error)
	JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error)
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	CertificateOf(ctx context.Context, journeyID uuid.UUID) (store.Certificate, error)
	IssueCertificate(ctx context.Context, journeyID, personID, intakeID uuid.UUID, at time.Time) (store.Certificate, error)
}

// ForJourney issues (once; afterwards it finds it again) the certificate of
// a completed journey and gathers what it says from the store and the
// programme data: the participant's name as the store has it now, the
// intake, the labs, the completion date and the verification code.
func ForJourney(ctx context.Context, st Records, journeyID uuid.UUID) (Certificate, store.Certificate, error) {
	j, err := st.GetJourney(ctx, journeyID)
	if err != nil {
		return Certificate{}, store.Certificate{}, err
	}
	if j.State != contract.StatusCompleted {
		return Certificate{}, store.Certificate{}, fmt.Errorf("%w: journey %s is %s", ErrNotCompleted, journeyID, j.State)
	}
	issued, err := st.CertificateOf(ctx, journeyID)
	if errors.Is(err, store.ErrNotFound) {
		var at time.Time
		if at, err = completedAt(ctx, st, journeyID); err != nil {
			return Certificate{}, store.Certificate{}, err
		}
		issued, err = st.IssueCertificate(ctx, journeyID, j.PersonID, j.IntakeID, at)
	}
	if err != nil {
		return Certificate{}, store.Certificate{}, err
	}
	person, err := st.GetPerson(ctx, issued.PersonID)
	if err != nil {
		return Certificate{}, issued, err
	}
	c, err := Describe(ctx, st, issued)
	c.ParticipantName = strings.TrimSpace(person.GivenName + " " + person.FamilyName)
	return c, issued, err
}

// Describe is what an issued certificate says, apart from the
// participant's name (personal data, which the caller adds if it may).
func Describe(ctx context.Context, st Records, issued store.Certificate) (Certificate, error) {
	in, err := st.GetIntake(ctx, issued.IntakeID)
	if err != nil {
		return Certificate{}, err
	}
	p, err := programme.Lookup(in.ProgrammeID, in.ProgrammeVersion)
	if err != nil {
		return Certificate{}, fmt.Errorf("%w: %w", errData, err)
	}
	c := Certificate{IntakeName: in.Name, CompletedAt: issued.IssuedAt, Location: p.Location(), Code: issued.Code}
	for _, l := range p.Labs {
		c.Labs = append(c.Labs, l.Name)
	}
	return c, nil
}

// completedAt is when the journey completed: the time of the first event
// that put it in the state "completed".
func completedAt(ctx context.Context, st Records, journeyID uuid.UUID) (time.Time, error) {
	evs, err := st.JourneyEvents(ctx, journeyID)
	if err != nil {
		return time.Time{}, err
	}
	for _, ev := range evs {
		if ev.Snapshot != nil && ev.Snapshot.State == contract.StatusCompleted {
			return ev.OccurredAt, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: journey %s has no event that completed it", ErrNotCompleted, journeyID)
}
