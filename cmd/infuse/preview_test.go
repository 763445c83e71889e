package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/preview"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// `infuse intake preview` needs only the store: no Temporal is running here.
func TestIntakePreviewCommand(t *testing.T) {
	isolateEnv(t)
	ctx := context.Background()
	st, db := storeFile(t)
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Cari", FamilyName: "Cydlynydd",
		EmailAddress: "cari@example.org"}
	coach := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Huw", FamilyName: "Hyfforddwr",
		EmailAddress: "huw@example.org", Language: store.LanguageWelsh}
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Siân", FamilyName: "Evans",
		EmailAddress: "sian@example.org", Language: store.LanguageEnglish}
	if err := st.CreatePeople(ctx, []store.Person{coord, coach, p}); err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, programme.London) }
	in := store.Intake{ID: uuid.New(), Name: "Cohort 9", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: day(2031, 8, 4, 9), ClosesAt: day(2031, 9, 1, 17), StartsOn: day(2031, 10, 1, 0),
		Capacity: 20, CoordinatorID: coord.ID}
	if err := st.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	snap := store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: p.ID, CoachID: coach.ID, State: "submitted"}
	if _, err := st.Record(ctx, store.Event{Key: "journey/" + journey.String() + "/1", IntakeID: in.ID, JourneyID: journey,
		Type: "application.submitted", OccurredAt: day(2031, 8, 5, 10), Snapshot: &snap}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	infuse := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		// No --timeout: the preview allows itself previewTimeout.
		code := run(ctx, append([]string{"--database", db}, args...), strings.NewReader(""), &out, &errb)
		checkJSONOutput(t, args, result{code: code, stdout: out.String(), stderr: errb.String()})
		return code, out.String(), errb.String()
	}

	code, out, errOut := infuse("intake", "preview", in.ID.String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Preview of Cohort 9", "DELIVER AT", "2031-09-01 17:01  Siân Evans",
		"offer", "Huw Hyfforddwr", "checkpoint-reminder", "checkpoint/1", "completion", "messages to 2 people",
		"The delivery policy moves"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "QUEUED AT") {
		t.Errorf("QUEUED AT shown without --verbose:\n%s", out)
	}
	// Whoever waits is told how far it has got, on stderr: stdout is the plan.
	for _, want := range []string{"Simulating the journeys of 1 person...", "Delivering "} {
		if !strings.Contains(errOut, want) || strings.Contains(out, want) {
			t.Errorf("progress %q not on stderr (or on stdout too):\nstderr: %s", want, errOut)
		}
	}

	code, out, errOut = infuse("intake", "preview", "--verbose", in.ID.String())
	if code != 0 {
		t.Fatalf("--verbose: exit %d: %s", code, errOut)
	}
	// The offer is queued and delivered at 17:01 on the Monday the window closed.
	for _, want := range []string{"DELIVER AT        QUEUED AT", "2031-09-01 17:01  2031-09-01 17:01  Siân Evans"} {
		if !strings.Contains(out, want) {
			t.Errorf("--verbose output does not mention %q:\n%s", want, out)
		}
	}

	code, out, errOut = infuse("--json", "intake", "preview", in.ID.String())
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	checkJSONStyle(t, "intake preview", out)
	var plan preview.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	langs := map[string]string{}
	for _, l := range plan.Lines {
		langs[l.RecipientName] = l.Language
		if l.QueuedAt.IsZero() || l.DeliverAt.Before(l.QueuedAt) {
			t.Errorf("--json line queued %v, delivered %v", l.QueuedAt, l.DeliverAt)
		}
	}
	if !strings.Contains(out, `"queuedAt"`) || !strings.Contains(out, `"deliverAt"`) || !strings.Contains(out, `"digest"`) {
		t.Errorf("--json lacks queuedAt, deliverAt or digest:\n%.2000s", out)
	}
	if fmt.Sprint(langs) != "map[Huw Hyfforddwr:cy Siân Evans:en]" || plan.Participants != 1 {
		t.Errorf("languages %v, participants %d", langs, plan.Participants)
	}

	// Out of its time (the store opened within the command's), it says so
	// and what to do, not that a worker may be missing (it needs none).
	was := previewTimeout
	previewTimeout = time.Millisecond
	code, _, errOut = infuse("intake", "preview", in.ID.String())
	previewTimeout = was
	if code != exitFailed || !strings.Contains(errOut, "did not finish within 1ms") || strings.Contains(errOut, "worker") {
		t.Errorf("a preview allowed 1ms: exit %d, %s; want %d saying it did not finish, and no worker hint", code, errOut, exitFailed)
	}

	if code, _, errOut := infuse("intake", "preview", uuid.NewString()); code != exitNotFound || !strings.Contains(errOut, "no intake") {
		t.Errorf("unknown intake: exit %d, %s", code, errOut)
	}
	if code, _, _ := infuse("intake", "preview", "nope"); code != exitInvalid {
		t.Errorf("bad ID: exit %d, want %d", code, exitInvalid)
	}
}
