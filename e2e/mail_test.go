package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/delivery/deliverytest"
	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/notify"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// mailLondon is where every programme time is meant.
var mailLondon = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

func lonAt(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, mailLondon)
}

// bankHolidays are the England & Wales bank holidays between the start of
// the test (2 August 2021) and the end of delivery (30 April 2022).
var bankHolidays = map[string]bool{
	"2021-08-30": true, // summer bank holiday
	"2021-12-27": true, // Christmas Day (substitute)
	"2021-12-28": true, // Boxing Day (substitute)
	"2022-01-03": true, // New Year's Day (substitute)
	"2022-04-15": true, // Good Friday
	"2022-04-18": true, // Easter Monday
}

// fakeClock is the delivery clock, shared by the Deliverer and the mailbox.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// invite is a calendar attachment read back from the mailbox.
type invite struct {
	method   string
	uid      string
	sequence int
	start    time.Time
	rawStart string // the DTSTART line's parameters and value, e.g. "TZID=Europe/London:20211008T100000"
	received time.Time
}

// TestIntakeMailEndToEnd follows the messages of a time-skipped intake, with
// the real workflows, activities and a real SQLite store, all the way into a
// real SMTP mailbox on loopback, delivered under the programme's delivery
// policy on a fake clock: the language of each recipient, the addresses,
// the MIME parts, the calendar invites (with a reschedule and a withdrawal),
// quiet hours, bank holidays and the daily cap, and the certificates.
func TestIntakeMailEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // about 5 s normally, 2–3 min under -race
	defer cancel()
	st := sqlitestore.OpenTest(t)

	// --- people and the intake ---
	coordinator := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells",
		EmailAddress: "megan@example.org", Language: store.LanguageEnglish}
	coach := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry",
		EmailAddress: "nia@example.org", Language: store.LanguageEnglish}
	cy := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Siân", FamilyName: "O'Brien",
		EmailAddress: "sian@example.org", LocalAuthority: "Newport", Theme: "communities", Language: store.LanguageWelsh}
	en := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Rhys", FamilyName: "Evans",
		EmailAddress: "rhys@example.org", LocalAuthority: "Cardiff", Theme: "decarbonisation", Language: store.LanguageEnglish}
	unk := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Gwen", FamilyName: "Jones",
		EmailAddress: "gwen@example.org", LocalAuthority: "Caerphilly", Theme: "communities", Language: store.LanguageUnknown}
	people := []store.Person{coordinator, coach, cy, en, unk}
	if err := st.CreatePeople(ctx, people); err != nil {
		t.Fatal(err)
	}
	byID := map[uuid.UUID]store.Person{}
	for _, p := range people {
		byID[p.ID] = p
	}
	intake := workflows.Intake{
		IntakeID:         uuid.New(),
		CoordinatorID:    coordinator.ID,
		ProgrammeID:      "infuse",
		ProgrammeVersion: 1,
		OpensAt:          lonAt(2021, 8, 16, 9, 0),
		ClosesAt:         lonAt(2021, 9, 13, 17, 0),
		StartsOn:         lonAt(2021, 10, 1, 0, 0),
		Capacity:         20,
	}
	if err := st.CreateIntake(ctx, store.Intake{
		ID: intake.IntakeID, Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: intake.OpensAt, ClosesAt: intake.ClosesAt, StartsOn: intake.StartsOn,
		Capacity: intake.Capacity, CoordinatorID: coordinator.ID, Status: store.IntakeDraft,
	}); err != nil {
		t.Fatal(err)
	}

	// --- the schedule, as it will stand after the reschedule ---
	prog, err := programme.Lookup("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	planned, err := prog.Schedule(programme.ScheduleInput{StartsOn: intake.StartsOn})
	if err != nil {
		t.Fatal(err)
	}
	// The moved session: procurement-lab/1, Monday 1 November 2021 10:00
	// (after the clock change), whose week-ahead invite goes out on Monday
	// 25 October; on Wednesday 27 October (lab month 1) it is moved a day
	// later, so its day-before reminder carries the update.
	const movedID = "procurement-lab/1"
	var moved programme.Item
	for _, it := range planned.Items {
		if it.ID == movedID {
			moved = it
		}
	}
	if moved.ID == "" {
		t.Fatalf("no %s in the schedule", movedID)
	}
	movedTo := moved.OpensAt.Add(24 * time.Hour)
	rescheduleAt := lonAt(2021, 10, 27, 12, 0)
	schedule, err := prog.Schedule(programme.ScheduleInput{StartsOn: intake.StartsOn, SessionMoves: map[string]time.Time{movedID: movedTo}})
	if err != nil {
		t.Fatal(err)
	}
	var sessions []programme.Item
	items := map[string]programme.Item{}
	for _, it := range schedule.Items {
		items[it.ID] = it
		if it.Kind == programme.KindSession {
			sessions = append(sessions, it)
		}
	}
	// People also act outside working hours, so the delivery policy has
	// something to hold back: the coordinator makes the offers on Tuesday
	// evening and starts the intake on Monday evening, and the en
	// participant withdraws on Saturday 20 November (lab month 2), when
	// procurement-lab/4 (Monday 22 November) has been invited a week ahead
	// and the day before. What they trigger waits for the next working
	// window, 09:00 on the next working day.
	offerAt, startAt := lonAt(2021, 9, 14, 20, 0), lonAt(2021, 9, 27, 18, 0)
	withdrawAt := lonAt(2021, 11, 20, 11, 0)
	heldUntil := map[string]time.Time{
		"offer":             lonAt(2021, 9, 15, 9, 0),
		"intake-started":    lonAt(2021, 9, 28, 9, 0),
		"session-cancelled": lonAt(2021, 11, 22, 9, 0),
	}

	// --- the intake, time-skipped ---
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	began := lonAt(2021, 8, 2, 9, 0)
	env.SetStartTime(began)
	worker.Register(env, activities.New(st))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IntakeWorkflowID(intake.IntakeID)})

	script := scripted.New(env, began, intake.IntakeID)
	at := func(when time.Time, fn func()) {
		t.Helper()
		if err := script.At(when, fn); err != nil {
			t.Fatal(err)
		}
	}
	update := func(what string, journey uuid.UUID, name string, arg any) { script.Send(journey, what, name, arg) }

	participants := []store.Person{cy, en, unk}
	journeys := map[uuid.UUID]uuid.UUID{}  // person -> journey
	journeyOf := map[uuid.UUID]uuid.UUID{} // journey -> person
	for i, p := range participants {
		j := uuid.New()
		journeys[p.ID], journeyOf[j] = j, p.ID
		p := p
		at(lonAt(2021, 8, 20, 11, i*5), func() {
			update("apply "+p.GivenName, uuid.Nil, workflows.UpdateSubmitApplication,
				workflows.SubmitApplicationRequest{JourneyID: j, PersonID: p.ID, CoachID: coach.ID})
		})
		at(offerAt.Add(time.Duration(i)*5*time.Minute), func() {
			update("offer "+p.GivenName, uuid.Nil, workflows.UpdateDecide,
				workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer})
		})
		at(lonAt(2021, 9, 15, 12, i*5), func() {
			update("accept "+p.GivenName, j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true})
		})
	}
	at(startAt, func() {
		update("start", uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{})
	})
	at(rescheduleAt, func() {
		update("reschedule", uuid.Nil, workflows.UpdateRescheduleSession,
			workflows.RescheduleSessionRequest{SessionID: movedID, StartsAt: movedTo})
	})
	for _, p := range participants {
		j, p := journeys[p.ID], p
		for _, s := range sessions {
			s := s
			when := s.DueAt.Add(time.Hour)
			if p.ID == en.ID && when.After(withdrawAt) {
				continue
			}
			at(when, func() {
				update("attend "+s.ID+" "+p.GivenName, j, workflows.UpdateRecordAttendance,
					workflows.AttendanceRequest{SessionID: s.ID, Attended: true})
			})
		}
		if p.ID == en.ID {
			at(withdrawAt, func() {
				update("withdraw "+p.GivenName, j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "workload"})
			})
			continue
		}
		for _, task := range []string{"plan", "reflection"} {
			task := task
			at(items[task].DueAt.Add(-24*time.Hour), func() {
				update(task+" "+p.GivenName, j, workflows.UpdateSubmitTask,
					workflows.SubmitTaskRequest{TaskID: task, NoteID: uuid.New(), RequestID: task})
			})
		}
		for _, c := range schedule.Items {
			if c.Kind != programme.KindCheckpoint {
				continue
			}
			c := c
			at(c.DueAt.Add(-24*time.Hour), func() {
				update(c.ID+" "+p.GivenName, j, workflows.UpdateCompleteCheckpoint, workflows.CompleteCheckpointRequest{
					CheckpointID: c.ID, CoachID: coach.ID, NoteID: uuid.New(), Status: workflows.RAGGreen, RequestID: c.ID,
				})
			})
		}
	}

	runStarted := time.Now()
	env.ExecuteWorkflow(workflows.IntakeWorkflow, intake)
	if !env.IsWorkflowCompleted() {
		t.Fatal("intake workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("intake workflow failed: %v", err)
	}
	var finished store.IntakeStatus
	if err := env.GetWorkflowResult(&finished); err != nil {
		t.Fatal(err)
	}
	if finished != store.IntakeFinished {
		t.Fatalf("intake ended %s, want finished", finished)
	}
	if err := script.Problems(); err != nil {
		t.Error(err)
	}
	for p, want := range map[uuid.UUID]workflows.Status{cy.ID: contract.StatusCompleted, unk.ID: contract.StatusCompleted, en.ID: contract.StatusWithdrawn} {
		snap, err := st.GetJourney(ctx, journeys[p])
		if err != nil {
			t.Fatal(err)
		}
		if snap.State != want {
			t.Errorf("%s's journey ended %s, want %s", byID[p].GivenName, snap.State, want)
		}
	}
	t.Logf("intake run under time skipping in %s", time.Since(runStarted).Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}

	// --- delivery into a real mailbox on loopback, on a fake clock ---
	clock := &fakeClock{t: lonAt(2021, 8, 2, 0, 0)}
	box, err := devmail.Start(devmail.Options{Dir: t.TempDir(), Port: 0, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer box.Close()
	sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: box.Host(), Port: box.Port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second, HELO: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	from := delivery.Address{Name: "Infuse", Address: "infuse@example.org"}
	d := delivery.New(st, &notify.Composer{Store: st, From: from}, sender,
		delivery.Options{Policy: delivery.NewPolicy(st), Now: clock.Now})
	queued, err := st.ListMessages(ctx, store.OutboxFilter{Status: store.MessageQueued})
	if err != nil {
		t.Fatal(err)
	}
	// The clock goes to each time something falls due, where production
	// would pass too; five passes a message is plenty (one when due, one
	// more when held back).
	deliverStarted := time.Now()
	total, err := deliverytest.Drain(ctx, d, clock, lonAt(2022, 4, 30, 0, 0), 5*len(queued))
	if err != nil {
		t.Fatalf("delivering (the clock at %s): %v", clock.Now().In(mailLondon), err)
	}
	t.Logf("delivery: %d passes in %s; sent %d (folded into digests %d), deferred %d, retried %d, failed %d",
		total.Passes, time.Since(deliverStarted).Round(time.Millisecond), total.Sent, total.Folded, total.Deferred, total.Retried, total.Failed)

	// --- the outbox: everything sent ---
	outbox, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: intake.IntakeID})
	if err != nil {
		t.Fatal(err)
	}
	if len(outbox) == 0 {
		t.Fatal("the intake queued no messages")
	}
	byMessageID := map[string][]store.Message{}
	for _, m := range outbox {
		if m.Status != store.MessageSent {
			t.Errorf("message %s (%s to %s) ended %s (attempts %d, last error %q), want sent",
				m.Key, m.Template, byID[m.RecipientID].GivenName, m.Status, m.Attempts, m.LastError)
			continue
		}
		if m.MessageID == "" || m.SentAt.IsZero() {
			t.Errorf("message %s is sent without a Message-ID (%q) or a time (%s)", m.Key, m.MessageID, m.SentAt)
			continue
		}
		byMessageID[m.MessageID] = append(byMessageID[m.MessageID], m)
	}
	if total.Failed != 0 || total.Retried != 0 {
		t.Errorf("delivery retried %d and failed %d messages, want none", total.Retried, total.Failed)
	}

	// --- the mailbox ---
	summaries, err := devmail.List(box.Dir())
	if err != nil {
		t.Fatal(err)
	}
	inBox := map[string]int{}
	for _, s := range summaries {
		inBox[s.MessageID]++
	}
	for id, n := range inBox {
		if n != 1 {
			t.Errorf("Message-ID %s arrived %d times, want once", id, n)
		}
		if _, ok := byMessageID[id]; !ok {
			t.Errorf("Message-ID %s arrived but no outbox message is marked sent with it", id)
		}
	}
	if len(inBox) != len(byMessageID) {
		t.Errorf("%d distinct e-mails in the mailbox, %d distinct Message-IDs marked sent", len(inBox), len(byMessageID))
	}

	cat, err := messages.Load("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	storedIntake, err := st.GetIntake(ctx, intake.IntakeID)
	if err != nil {
		t.Fatal(err)
	}

	perDay := map[string]int{} // recipient address + local date -> e-mails
	invites := map[uuid.UUID][]invite{}
	digests, certificates, held := 0, 0, 0
	perRecipient := map[string]int{}
	for _, s := range summaries {
		msg, err := devmail.Read(box.Dir(), s.File)
		if err != nil {
			t.Fatal(err)
		}
		sent := byMessageID[s.MessageID]
		if len(sent) == 0 {
			continue // reported above
		}
		first := sent[0]
		rcpt := byID[first.RecipientID]
		for _, m := range sent[1:] {
			if m.RecipientID != first.RecipientID {
				t.Errorf("digest %s gathers messages for %s and %s", s.MessageID, rcpt.GivenName, byID[m.RecipientID].GivenName)
			}
		}
		label := fmt.Sprintf("%s to %s (%s, received %s)", first.Template, rcpt.GivenName, s.MessageID, s.Received.In(mailLondon).Format(time.DateTime))
		if len(sent) > 1 {
			digests++
			label = fmt.Sprintf("digest of %d to %s (%s, received %s)", len(sent), rcpt.GivenName, s.MessageID, s.Received.In(mailLondon).Format(time.DateTime))
		}
		perRecipient[rcpt.GivenName]++

		// Recipients.
		to, err := mail.ParseAddress(s.To)
		if err != nil {
			t.Errorf("%s: To %q does not parse: %v", label, s.To, err)
		} else if !strings.EqualFold(to.Address, rcpt.EmailAddress) {
			t.Errorf("%s: To %s, want the recipient's address %s", label, to.Address, rcpt.EmailAddress)
		}

		// MIME: a plain-text and an HTML part.
		if strings.TrimSpace(msg.Text) == "" || strings.TrimSpace(msg.HTML) == "" {
			t.Errorf("%s: text part %d bytes, HTML part %d bytes; want both", label, len(msg.Text), len(msg.HTML))
		}

		// Policy: the fake clock at delivery, as the mailbox and the outbox saw it.
		for _, m := range sent {
			if d := s.Received.Sub(m.SentAt); d < 0 || d > time.Second {
				t.Errorf("%s: received %s but marked sent %s", label, s.Received.UTC(), m.SentAt.UTC())
			}
		}
		local := s.Received.In(mailLondon)
		hm := local.Hour()*60 + local.Minute()
		if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("%s: delivered on a %s", label, wd)
		}
		if hm < 9*60 || hm >= 17*60+30 {
			t.Errorf("%s: delivered at %s, outside 09:00–17:30", label, local.Format("15:04"))
		}
		if bankHolidays[local.Format(time.DateOnly)] {
			t.Errorf("%s: delivered on the bank holiday %s", label, local.Format(time.DateOnly))
		}
		perDay[rcpt.EmailAddress+" "+local.Format(time.DateOnly)]++
		if want, ok := heldUntil[first.Template]; ok && len(sent) == 1 {
			held++
			if !s.Received.Truncate(time.Second).Equal(want) {
				t.Errorf("%s: triggered outside working hours, received %s; want it held until %s",
					label, local.Format(time.DateTime), want.Format(time.DateTime))
			}
		}

		// Language.
		lang := msg.Header.Get("Content-Language")
		subject := s.Subject
		wantLang := map[store.Language]string{store.LanguageWelsh: "cy", store.LanguageEnglish: "en", store.LanguageUnknown: "cy, en"}[rcpt.Language]
		if lang != wantLang {
			t.Errorf("%s: Content-Language %q, want %q", label, lang, wantLang)
		}
		welshAt, englishAt := strings.Index(msg.Text, "Diolch,"), strings.Index(msg.Text, "Thank you,")
		switch rcpt.Language {
		case store.LanguageWelsh:
			if welshAt < 0 || englishAt >= 0 {
				t.Errorf("%s: not Welsh only (subject %q)", label, subject)
			}
		case store.LanguageEnglish:
			if englishAt < 0 || welshAt >= 0 {
				t.Errorf("%s: not English only (subject %q)", label, subject)
			}
		default:
			if welshAt < 0 || englishAt < 0 || welshAt > englishAt {
				t.Errorf("%s: not bilingual with Welsh first (subject %q)", label, subject)
			}
		}
		if len(sent) == 1 {
			cySubj, enSubj := expectedSubjects(t, cat, storedIntake, first, rcpt, byID, journeyOf)
			want := map[store.Language]string{store.LanguageWelsh: cySubj, store.LanguageEnglish: enSubj, store.LanguageUnknown: cySubj + " / " + enSubj}[rcpt.Language]
			if subject != want {
				t.Errorf("%s: subject %q, want %q", label, subject, want)
			}
		}

		// Attachments: invites and certificates.
		var icsParts, pdfParts int
		for _, p := range msg.Parts {
			switch {
			case strings.HasPrefix(p.ContentType, "text/calendar"):
				icsParts++
				inv, err := parseInvite(p.Data)
				if err != nil {
					t.Errorf("%s: the invite does not parse: %v\n%s", label, err, p.Data)
					continue
				}
				if !strings.Contains(strings.ToLower(p.ContentType), "method="+strings.ToLower(inv.method)) {
					t.Errorf("%s: part %q but the calendar says METHOD:%s", label, p.ContentType, inv.method)
				}
				inv.received = s.Received
				invites[rcpt.ID] = append(invites[rcpt.ID], inv)
				if first.ItemID != "" && inv.uid != fmt.Sprintf("%s.%s@infuse-journeys", first.ItemID, first.JourneyID) {
					t.Errorf("%s: invite UID %q is not the session's", label, inv.uid)
				}
				if !inv.start.Equal(first.ItemStartsAt) {
					t.Errorf("%s: invite starts %s, the message says %s", label, inv.start, first.ItemStartsAt)
				}
			case p.FileName == "certificate.pdf":
				pdfParts++
				if !strings.HasPrefix(p.ContentType, "application/pdf") || !bytes.HasPrefix(p.Data, []byte("%PDF-")) {
					t.Errorf("%s: certificate.pdf is %q, starting %q", label, p.ContentType, p.Data[:min(8, len(p.Data))])
				}
			}
		}
		isSession := prog.IsSession(first.ItemID)
		switch {
		case len(sent) > 1:
			if icsParts+pdfParts != 0 {
				t.Errorf("%s: a digest carries attachments", label)
			}
		case first.Role == store.RoleParticipant && isSession && first.Cancels:
			if icsParts != 1 {
				t.Errorf("%s: %d calendar parts, want the cancellation", label, icsParts)
			}
		case first.Role == store.RoleParticipant && isSession && strings.HasPrefix(first.Template, "session-reminder"):
			if icsParts != 1 {
				t.Errorf("%s: %d calendar parts, want the invite", label, icsParts)
			}
		default:
			if icsParts != 0 {
				t.Errorf("%s: %d calendar parts on a message not about an upcoming session", label, icsParts)
			}
		}
		if first.Template == messages.Completion && first.Role == store.RoleParticipant {
			certificates++
			if pdfParts != 1 {
				t.Errorf("%s: %d certificate.pdf attachments, want 1", label, pdfParts)
			}
		} else if pdfParts != 0 {
			t.Errorf("%s: a certificate on a message that is not a completion", label)
		}
		if rcpt.Role != store.RoleParticipant && icsParts != 0 {
			t.Errorf("%s: staff get no invites", label)
		}
	}
	busiest := 0
	for key, n := range perDay {
		busiest = max(busiest, n)
		if n > 3 {
			t.Errorf("%s: %d e-mails on one day, want at most 3", key, n)
		}
	}
	if want := 2*len(participants) + 1; held != want || total.Deferred < want {
		t.Errorf("%d e-mails triggered outside working hours (want %d: offers, intake started, the cancellation), %d deferrals",
			held, want, total.Deferred)
	}
	if certificates != 2 {
		t.Errorf("%d completion e-mails to participants, want 2 (the Welsh and the bilingual participant)", certificates)
	}
	for _, p := range participants {
		if perRecipient[p.GivenName] == 0 {
			t.Errorf("%s received nothing", p.GivenName)
		}
	}
	if perRecipient[coach.GivenName] == 0 {
		t.Errorf("the coach received nothing")
	}

	// --- invites: 10:00 London on both sides of the clock change ---
	clockChange := lonAt(2021, 10, 31, 2, 0)
	var bst, gmt int
	for p, invs := range invites {
		for _, inv := range invs {
			if inv.method == "REQUEST" {
				l := inv.start.In(mailLondon)
				if l.Hour() != 10 || l.Minute() != 0 || !strings.HasPrefix(inv.rawStart, "TZID=Europe/London:") || !strings.HasSuffix(inv.rawStart, "T100000") {
					t.Errorf("invite %s to %s starts %s (DTSTART;%s), want 10:00 Europe/London", inv.uid, byID[p].GivenName, l, inv.rawStart)
				}
				if inv.start.Before(clockChange) {
					bst++
				} else {
					gmt++
				}
			}
		}
	}
	if bst == 0 || gmt == 0 {
		t.Errorf("invites before the clock change %d, after %d; want some on both sides", bst, gmt)
	}

	// --- the reschedule: an update with a higher SEQUENCE and the new start ---
	for _, p := range participants {
		uid := fmt.Sprintf("%s.%s@infuse-journeys", movedID, journeys[p.ID])
		var before, after []invite
		for _, inv := range invites[p.ID] {
			if inv.uid != uid || inv.method != "REQUEST" {
				continue
			}
			if inv.received.Before(rescheduleAt) {
				before = append(before, inv)
			} else {
				after = append(after, inv)
			}
		}
		if len(before) == 0 || len(after) == 0 {
			t.Errorf("%s: %d invites for %s before the reschedule and %d after; want both", p.GivenName, len(before), movedID, len(after))
			continue
		}
		maxBefore := -1
		for _, inv := range before {
			maxBefore = max(maxBefore, inv.sequence)
			if !inv.start.Equal(moved.OpensAt) {
				t.Errorf("%s: invite before the reschedule starts %s, want %s", p.GivenName, inv.start, moved.OpensAt)
			}
		}
		for _, inv := range after {
			if inv.sequence <= maxBefore || !inv.start.Equal(movedTo) {
				t.Errorf("%s: update after the reschedule has SEQUENCE %d and start %s, want above %d and %s",
					p.GivenName, inv.sequence, inv.start.In(mailLondon), maxBefore, movedTo.In(mailLondon))
			}
		}
	}

	// --- the withdrawal: a CANCEL for each invited upcoming session ---
	cancelled := 0
	for _, p := range participants {
		requested := map[string]int{} // UID -> highest SEQUENCE invited before the withdrawal
		starts := map[string]time.Time{}
		for _, inv := range invites[p.ID] {
			if inv.method == "REQUEST" {
				if p.ID == en.ID && !inv.received.Before(withdrawAt) {
					t.Errorf("%s: invite %s after withdrawing", p.GivenName, inv.uid)
				}
				if s, ok := requested[inv.uid]; !ok || inv.sequence > s {
					requested[inv.uid] = inv.sequence
				}
				starts[inv.uid] = inv.start
			}
		}
		var cancels []invite
		for _, inv := range invites[p.ID] {
			if inv.method == "CANCEL" {
				cancels = append(cancels, inv)
			}
		}
		if p.ID != en.ID {
			if len(cancels) != 0 {
				t.Errorf("%s did not withdraw but got %d cancellations", p.GivenName, len(cancels))
			}
			continue
		}
		want := map[string]bool{}
		for uid, start := range starts {
			if start.After(withdrawAt) {
				want[uid] = true
			}
		}
		if len(want) == 0 {
			t.Errorf("no upcoming session of %s had been invited at the withdrawal: the scenario tests nothing", p.GivenName)
		}
		for _, c := range cancels {
			seq, ok := requested[c.uid]
			switch {
			case !want[c.uid]:
				t.Errorf("%s: CANCEL for %s, which was not an invited upcoming session", p.GivenName, c.uid)
			case !ok || c.sequence <= seq:
				t.Errorf("%s: CANCEL for %s has SEQUENCE %d, want above the invite's %d", p.GivenName, c.uid, c.sequence, seq)
			case !c.start.Equal(starts[c.uid]):
				t.Errorf("%s: CANCEL for %s starts %s, the invite %s", p.GivenName, c.uid, c.start, starts[c.uid])
			case c.received.Before(withdrawAt):
				t.Errorf("%s: CANCEL for %s received %s, before the withdrawal", p.GivenName, c.uid, c.received)
			}
			delete(want, c.uid)
			cancelled++
		}
		for uid := range want {
			t.Errorf("%s withdrew but got no CANCEL for the invited upcoming session %s", p.GivenName, uid)
		}
	}

	// Figures for the report.
	var names []string
	for n := range perRecipient {
		names = append(names, n)
	}
	sort.Strings(names)
	var per []string
	for _, n := range names {
		per = append(per, fmt.Sprintf("%s %d", n, perRecipient[n]))
	}
	t.Logf("%d outbox messages, %d e-mails received (%s); %d digests; %d invites (%d BST, %d GMT), %d cancellations; %d certificates; at most %d e-mails to one person on one day",
		len(outbox), len(summaries), strings.Join(per, ", "), digests, bst+gmt, bst, gmt, cancelled, certificates, busiest)
}

// expectedSubjects renders the Welsh and the English subject of m for rcpt
// from the programme's templates, with what the composer is documented to
// give them.
func expectedSubjects(t *testing.T, cat *messages.Catalogue, in store.Intake, m store.Message, rcpt store.Person,
	people map[uuid.UUID]store.Person, journeyOf map[uuid.UUID]uuid.UUID) (string, string) {
	t.Helper()
	d := messages.Data{
		RecipientGivenName: rcpt.GivenName, IntakeName: in.Name, IntakeStartsOn: in.StartsOn,
		ItemID: m.ItemID, ItemStartsAt: m.ItemStartsAt, ItemEndsAt: m.ItemEndsAt,
	}
	if m.ItemID == "offer" {
		d.ItemID, d.RespondBy = "", m.ItemEndsAt
	}
	if m.Role != store.RoleParticipant {
		p := people[journeyOf[m.JourneyID]]
		d.ParticipantName = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	}
	var out [2]string
	for i, l := range []store.Language{store.LanguageWelsh, store.LanguageEnglish} {
		r, err := cat.Render(m.Template, l, d)
		if err != nil {
			t.Fatalf("rendering %s in %s: %v", m.Template, l, err)
		}
		out[i] = r.Subject
	}
	return out[0], out[1]
}

// parseInvite reads a calendar attachment with golang-ical's parser.
func parseInvite(data []byte) (invite, error) {
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		return invite{}, err
	}
	var inv invite
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyMethod) {
			inv.method = p.Value
		}
	}
	events := cal.Events()
	if len(events) != 1 {
		return invite{}, fmt.Errorf("%d events, want 1", len(events))
	}
	ev := events[0]
	inv.uid = ev.Id()
	if p := ev.GetProperty(ics.ComponentPropertySequence); p != nil {
		if _, err := fmt.Sscanf(p.Value, "%d", &inv.sequence); err != nil {
			return invite{}, fmt.Errorf("SEQUENCE %q: %w", p.Value, err)
		}
	} else {
		return invite{}, fmt.Errorf("no SEQUENCE")
	}
	if inv.start, err = ev.GetStartAt(); err != nil {
		return invite{}, fmt.Errorf("DTSTART: %w", err)
	}
	p := ev.GetProperty(ics.ComponentPropertyDtStart)
	var params []string
	for k, v := range p.ICalParameters {
		params = append(params, k+"="+strings.Join(v, ","))
	}
	sort.Strings(params)
	inv.rawStart = strings.Join(params, ";") + ":" + p.Value
	if inv.method != "REQUEST" && inv.method != "CANCEL" {
		return invite{}, fmt.Errorf("METHOD %q", inv.method)
	}
	return inv, nil
}
