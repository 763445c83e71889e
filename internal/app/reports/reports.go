// Package reports counts journeys for coordinators and funders: by local
// authority, by theme, and the funders' outcomes file. Reports come from
// the store alone (the projections, the event log and people's authority
// and theme), so they answer while Temporal is down and after its
// histories have expired. They count journeys; the funders' file names
// nobody.
package reports

import (
	"bufio"
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Store is the store as reports read it.
type Store interface {
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	ListIntakes(ctx context.Context) ([]store.Intake, error)
	TallyJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.Tally, error)
	JourneyOutcomes(ctx context.Context, intakeID uuid.UUID) ([]store.JourneyOutcome, error)
}

// Service makes the reports from its store.
type Service struct {
	Store Store
}

// New returns the reports of st.
func New(st Store) *Service { return &Service{Store: st} }

// notRecorded is the group of journeys whose participant has no local
// authority or theme on record, or one the programme does not list (a
// participant entered before they were required, or no longer in the store).
const notRecorded = "(not recorded)"

// GroupReport counts journeys by local authority or by theme.
type GroupReport struct {
	// By is "localAuthority" or "theme".
	By string `json:"by" openapi:"enum=localAuthority|theme"`
	// IntakeID is the intake counted; absent when every intake is.
	IntakeID uuid.UUID `json:"intakeId,omitzero" doc:"The intake counted; absent when every intake is"`
	// Groups has every authority (or theme) in the programme's order, even
	// those with no journeys, then "(not recorded)" if any journey has none.
	Groups []GroupCounts `json:"groups"`
}

// GroupCounts is one authority's or theme's journeys.
type GroupCounts struct {
	Name     string `json:"name"`
	Journeys int    `json:"journeys" openapi:"minimum=0"`
	// ByState counts journeys by their current state ("in_labs", "completed", …).
	ByState map[string]int `json:"byState"`
	// ByOutcome counts the journeys that have ended, by outcome
	// ("completed", "withdrawn", …); journeys still under way are not in it.
	ByOutcome map[string]int `json:"byOutcome"`
}

// ByAuthority counts journeys for each of the ten local authorities, in
// one intake or, with uuid.Nil, across every intake.
func (s *Service) ByAuthority(ctx context.Context, intakeID uuid.UUID) (GroupReport, error) {
	return s.groupReport(ctx, intakeID, "localAuthority", programme.LocalAuthorities, func(t store.Tally) string { return t.LocalAuthority })
}

// ByTheme counts journeys for each theme, in one intake or, with uuid.Nil,
// across every intake.
func (s *Service) ByTheme(ctx context.Context, intakeID uuid.UUID) (GroupReport, error) {
	return s.groupReport(ctx, intakeID, "theme", programme.Themes, func(t store.Tally) string { return t.Theme })
}

// groupReport counts from the store's tally, one query whatever the
// number of journeys, each journey in the group its tally's group names.
func (s *Service) groupReport(ctx context.Context, intakeID uuid.UUID, by string, names []string, group func(store.Tally) string) (GroupReport, error) {
	r := GroupReport{By: by, IntakeID: intakeID}
	if intakeID != uuid.Nil {
		if _, err := apperr.IntakeOf(ctx, s.Store, intakeID); err != nil {
			return r, err
		}
	}
	tallies, err := s.Store.TallyJourneys(ctx, intakeID)
	if err != nil {
		return r, err
	}
	index := map[string]int{}
	add := func(name string) *GroupCounts {
		if i, ok := index[name]; ok {
			return &r.Groups[i]
		}
		index[name] = len(r.Groups)
		r.Groups = append(r.Groups, GroupCounts{Name: name, ByState: map[string]int{}, ByOutcome: map[string]int{}})
		return &r.Groups[len(r.Groups)-1]
	}
	for _, n := range names {
		add(n)
	}
	for _, t := range tallies {
		name := group(t)
		if _, known := index[name]; !known || name == "" {
			name = notRecorded
		}
		g := add(name)
		g.Journeys += t.Journeys
		g.ByState[t.State] += t.Journeys
		if t.Outcome != "" {
			g.ByOutcome[t.Outcome] += t.Journeys
		}
	}
	return r, nil
}

// OutcomesCSVColumns are the columns of WriteOutcomesCSV, in order.
var OutcomesCSVColumns = []string{
	"journey_id", "intake_id", "intake", "local_authority", "theme", "state", "outcome",
	"sessions_attended", "checkpoints_completed", "ended_at",
}

// WriteOutcomesCSV writes the funders' outcome report of one intake (or,
// with uuid.Nil, of every intake): a header row of OutcomesCSVColumns, then
// one row per journey, intakes in the order ListIntakes gives them. It
// holds no names, e-mail addresses or notes: funders get counts, not people.
//
//   - journey_id, intake_id: the journey's and its intake's IDs, so a
//     corrected report can be matched row by row with an earlier one;
//   - intake: the intake's name (e.g. "Cohort 1");
//   - local_authority, theme: the participant's, as recorded (kept after
//     an erasure);
//   - state: where the journey is now (e.g. "in_labs", "completed");
//   - outcome: how it ended ("completed", "not_completed", "withdrawn",
//     "deferred", "declined", …), empty while it is under way;
//   - sessions_attended: lab sessions recorded as attended in this
//     journey's event log (a session recorded absent after present does not
//     count; attendance carried over from a deferred journey is counted in
//     that journey's row);
//   - checkpoints_completed: coaching checkpoints completed, likewise;
//   - ended_at: when the journey ended, RFC 3339 in UTC; empty while under way.
//
// Recorded text that a spreadsheet would run as a formula is written with a
// leading apostrophe (asText).
//
// On an error, what was already written to w is incomplete: discard it.
func (s *Service) WriteOutcomesCSV(ctx context.Context, intakeID uuid.UUID, w io.Writer) error {
	intakes, err := s.reportIntakes(ctx, intakeID)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	writeQuotedCSV(bw, OutcomesCSVColumns)
	for _, in := range intakes {
		// One read of the journeys' counts, kept as their events were
		// recorded (store.JourneyOutcome), in the order of their IDs.
		journeys, err := s.Store.JourneyOutcomes(ctx, in.ID)
		if err != nil {
			return err
		}
		// The same in each of the intake's rows.
		intakeCell, nameCell := in.ID.String(), asText(in.Name)
		for _, j := range journeys {
			ended := ""
			if !j.EndedAt.IsZero() {
				ended = j.EndedAt.UTC().Format(time.RFC3339)
			}
			writeQuotedCSV(bw, []string{
				j.JourneyID.String(), intakeCell, nameCell, asText(j.LocalAuthority), asText(j.Theme),
				j.State, j.Outcome, strconv.Itoa(j.SessionsAttended), strconv.Itoa(j.CheckpointsCompleted), ended,
			})
		}
	}
	return bw.Flush()
}

// reportIntakes is the intake a report is of, or every intake for uuid.Nil.
func (s *Service) reportIntakes(ctx context.Context, intakeID uuid.UUID) ([]store.Intake, error) {
	if intakeID == uuid.Nil {
		return s.Store.ListIntakes(ctx)
	}
	in, err := apperr.IntakeOf(ctx, s.Store, intakeID)
	if err != nil {
		return nil, err
	}
	return []store.Intake{in}, nil
}

// writeQuotedCSV writes one CSV record (RFC 4180) with every field quoted.
// encoding/csv quotes only where it must, and then a spreadsheet that
// guesses a file's quote character (Gnumeric) takes the apostrophe of an
// unquoted '=1+1 (asText) for one and splits the row; quoted, every
// spreadsheet reads each cell whole, and a quoted number is still a number.
func writeQuotedCSV(w *bufio.Writer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('"')
		w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		w.WriteByte('"')
	}
	w.WriteString("\r\n")
}

// asText is a cell of recorded text as a spreadsheet must read it: one
// that starts as a formula would (=, +, -, @, a tab or a carriage return:
// OWASP's CSV injection list) gets a leading apostrophe, which spreadsheets
// take to mean "text" and do not show. Intake names, authorities and
// themes are typed by people, and funders open this file in Excel.
func asText(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
