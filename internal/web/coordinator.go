package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// home is each role's own start page.
func (s *server) home(w http.ResponseWriter, r *http.Request) {
	switch principal(r).Role {
	case store.RoleCoordinator:
		s.dashboard(w, r)
	case store.RoleCoach:
		s.inbox(w, r)
	default:
		s.participantHome(w, r)
	}
}

// dashboardData is the body of the coordinator's start page.
type dashboardData struct {
	Intakes []views.IntakeSummary
	// Reports count every intake's journeys by local authority and by theme.
	Reports []reports.GroupReport
	// Form is what was typed into the new-intake form, kept after a mistake.
	Form url.Values
	// Attention is what needs the coordinator now, across the intakes.
	Attention views.Attention
}

// dashboard lists every intake with its numbers, the journeys of every
// intake by authority and theme, and the form that creates an intake.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	s.renderDashboard(w, r, http.StatusOK, nil)
}

func (s *server) renderDashboard(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	data := dashboardData{Form: postedForm(r)}
	var err error
	if data.Intakes, err = s.svc.Views.ListIntakes(r.Context()); err != nil {
		s.serverError(w, r, "listing the intakes", err)
		return
	}
	for _, report := range []func(context.Context, uuid.UUID) (reports.GroupReport, error){s.svc.Reports.ByAuthority, s.svc.Reports.ByTheme} {
		g, err := report(r.Context(), uuid.Nil)
		if err != nil {
			s.serverError(w, r, "counting the journeys", err)
			return
		}
		data.Reports = append(data.Reports, g)
	}
	if data.Attention, err = s.svc.Views.Attention(r.Context()); err != nil {
		s.serverError(w, r, "listing what needs your attention", err)
		return
	}
	p := s.newPage(r, "dashboard.title")
	p.Errors = errs
	p.Data = data
	s.render(w, r, status, "dashboard", p)
}

// createIntake is the dashboard's new-intake form, run by the signed-in
// coordinator. Times are read as the API reads them (commands.ParseTime).
func (s *server) createIntake(w http.ResponseWriter, r *http.Request) {
	form := postedForm(r)
	c := checks{lang: pageLang(r)}
	spec := commands.IntakeSpec{Name: strings.TrimSpace(form.Get("name")), CoordinatorID: principal(r).PersonID}
	c.require(spec.Name != "", "name", "newintake.name.missing")
	spec.OpensAt = c.timeField(form, "opens", "newintake.opens.invalid")
	spec.ClosesAt = c.timeField(form, "closes", "newintake.closes.invalid")
	spec.StartsOn = c.timeField(form, "starts", "newintake.starts.invalid")
	spec.Capacity = c.positiveInt(form, "capacity", "newintake.capacity.invalid")
	again := func(status int, errs []fieldError) { s.renderDashboard(w, r, status, errs) }
	if len(c.errs) > 0 {
		again(http.StatusUnprocessableEntity, c.errs)
		return
	}
	in, err := s.svc.Commands.CreateIntake(r.Context(), spec)
	to := "/"
	if err == nil {
		to = "/intakes/" + in.ID.String()
	}
	s.finishForm(w, r, err, again, to, "created")
}

// outcomesCSV is the funders' report of one intake, as the API's
// /api/intakes/{id}/outcomes.csv: no names in it.
func (s *server) outcomesCSV(w http.ResponseWriter, r *http.Request) {
	in, ok := s.pathIntake(w, r)
	if !ok {
		return
	}
	id := in.ID
	// Written to a buffer first, so a failure halfway is a clean error page.
	var buf bytes.Buffer
	if err := s.svc.Reports.WriteOutcomesCSV(r.Context(), id, &buf); err != nil {
		s.serverError(w, r, "exporting the outcomes", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="outcomes-%s.csv"`, id))
	_, _ = buf.WriteTo(w)
}

// intakeMissing answers a failed intake lookup: 404 for no such intake.
// pathIntake is the intake named in the path, or false after the 404 (or
// error) page.
func (s *server) pathIntake(w http.ResponseWriter, r *http.Request) (store.Intake, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return store.Intake{}, false
	}
	in, err := s.svc.Views.Intake(r.Context(), id)
	if err != nil {
		s.intakeMissing(w, r, err)
		return store.Intake{}, false
	}
	return in, true
}

func (s *server) intakeMissing(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, apperr.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	s.serverError(w, r, "reading the intake", err)
}

// intakeData is the body of an intake's page.
type intakeData struct {
	views.IntakeDashboard
	// States lists the states in Counts in a fixed order.
	States []contract.Status
	// CanStart says whether to offer the start button.
	CanStart bool
	// Decisions are the choices of the decision form.
	Decisions []workflows.Decision
	// Sessions are the lab sessions the reschedule form offers, with
	// their current starts.
	Sessions []sessionChoice
	// Form is what was typed into the form that failed (reschedule or
	// edit), kept after a mistake.
	Form url.Values
	// Page is the page of participants shown, which a decision on one of
	// them comes back to.
	Page views.DashboardPage
	// Coaches, Authorities and Themes are the filter form's choices.
	Coaches             []store.Person
	Authorities, Themes []string
}

// EditName is the edit form's name: what was typed if that form failed,
// else the intake's own.
func (d intakeData) EditName() string {
	if _, sent := d.Form["name"]; sent {
		return d.Form.Get("name")
	}
	return d.Intake.Name
}

// NameMax is the longest name the store keeps, for the field's maxlength.
func (intakeData) NameMax() int { return store.MaxIntakeNameLength }

// EditCapacity is the edit form's number of places, as EditName.
func (d intakeData) EditCapacity() string {
	if _, sent := d.Form["capacity"]; sent {
		return d.Form.Get("capacity")
	}
	return strconv.Itoa(d.Intake.Capacity)
}

// pageAsked is the page of an intake's participants that field names
// (r.URL.Query().Get for the page's links, r.PostFormValue for a form
// sent from a page: intakeData.Page); an ID that is not one is none, so
// a mangled link shows the first page.
func pageAsked(field func(string) string) views.DashboardPage {
	after, _ := uuid.Parse(field("after"))
	before, _ := uuid.Parse(field("before"))
	return views.DashboardPage{After: after, Before: before, Only: filterAsked(field)}
}

// filterAsked is the filter of an intake's participants that field names
// (state, authority, theme, coach, overdue); a value that names none is
// left out, so a mangled address lists more, never an error.
func filterAsked(field func(string) string) store.RosterFilter {
	var f store.RosterFilter
	if s := contract.Status(field("state")); slices.Contains(contract.Statuses(), s) {
		f.State = s
	}
	clip := func(s string) string { return strings.TrimSpace(s[:min(len(s), 100)]) }
	f.LocalAuthority, f.Theme = clip(field("authority")), clip(field("theme"))
	f.CoachID, _ = uuid.Parse(field("coach"))
	f.Overdue = field("overdue") == "1"
	return f
}

// filterFields are f as the fields of an address (filterAsked reads them).
func filterFields(f store.RosterFilter) url.Values {
	v := url.Values{}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("state", string(f.State))
	set("authority", f.LocalAuthority)
	set("theme", f.Theme)
	if f.CoachID != uuid.Nil {
		v.Set("coach", f.CoachID.String())
	}
	if f.Overdue {
		v.Set("overdue", "1")
	}
	return v
}

// intakePageURL is the address of a page of an intake's participants.
func intakePageURL(intake uuid.UUID, page views.DashboardPage) string {
	to := "/intakes/" + intake.String()
	v := filterFields(page.Only)
	if name, journey := pageField(page); name != "" {
		v.Set(name, journey)
	}
	if len(v) > 0 {
		to += "?" + v.Encode()
	}
	return to
}

// pageField is the field that names page (pageAsked): "after" or "before"
// and its journey; none for the first page.
func pageField(page views.DashboardPage) (name, journey string) {
	switch {
	case page.After != uuid.Nil:
		return "after", page.After.String()
	case page.Before != uuid.Nil:
		return "before", page.Before.String()
	}
	return "", ""
}

// PreviousPage and NextPage are the addresses of the pages of the
// intake's participants beside this one, "" where there is none.
func (d intakeData) PreviousPage() string {
	return pageLink(d.Intake.ID, d.Previous, views.DashboardPage{Before: d.Previous, Only: d.Page.Only})
}
func (d intakeData) NextPage() string {
	return pageLink(d.Intake.ID, d.Next, views.DashboardPage{After: d.Next, Only: d.Page.Only})
}

// PageFields are the hidden fields a decision's form sends to come back
// to this page (pageAsked): its place and its filter; none on the first
// page of everyone.
func (d intakeData) PageFields() []struct{ Name, Value string } {
	var out []struct{ Name, Value string }
	v := filterFields(d.Page.Only)
	if name, journey := pageField(d.Page); name != "" {
		v.Set(name, journey)
	}
	for _, name := range slices.Sorted(maps.Keys(v)) {
		out = append(out, struct{ Name, Value string }{name, v.Get(name)})
	}
	return out
}

// groups are the named groups of counts, in order: a filter's choices.
func groups(counts map[string]int) []string {
	var out []string
	for name := range counts {
		if name != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Filtered says whether the page lists only some of the intake's journeys.
func (d intakeData) Filtered() bool { return d.Page.Only != (store.RosterFilter{}) }

// pageLink is the address of the page named by journey, "" if none.
func pageLink(intake, journey uuid.UUID, page views.DashboardPage) string {
	if journey == uuid.Nil {
		return ""
	}
	return intakePageURL(intake, page) + "#journeys"
}

// Count is the number of the intake's journeys in state.
func (d intakeData) Count(state contract.Status) int { return d.Counts[string(state)] }

// Decidable says whether a row's application still awaits a decision.
func (intakeData) Decidable(state contract.Status) bool {
	switch state {
	case contract.StatusSubmitted, contract.StatusUnderReview, contract.StatusWaitlisted:
		return true
	}
	return false
}

func (s *server) intakePage(w http.ResponseWriter, r *http.Request) {
	s.renderIntake(w, r, http.StatusOK, nil)
}

func (s *server) renderIntake(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	page := pageAsked(r.URL.Query().Get)
	d, err := s.svc.Views.IntakeDashboard(r.Context(), id, page)
	if errors.Is(err, apperr.ErrInvalid) {
		// A link to a page of another intake's, or a mangled one: the
		// first page is where its reader can go on from.
		page = views.DashboardPage{Only: page.Only}
		d, err = s.svc.Views.IntakeDashboard(r.Context(), id, page)
	}
	if err != nil {
		s.intakeMissing(w, r, err)
		return
	}
	p := s.newPage(r, "intake.title")
	p.programme = pinned(d.Intake.ProgrammeID, d.Intake.ProgrammeVersion)
	p.Title = d.Intake.Name
	p.Errors = errs
	data := intakeData{IntakeDashboard: d, Page: page, Decisions: []workflows.Decision{workflows.DecisionOffer, workflows.DecisionWaitlist, workflows.DecisionReject},
		Sessions: sessionChoices(sessionIDs(d.Intake.ProgrammeID, d.Intake.ProgrammeVersion), s.intakeStarts(r, d.Intake)), Form: postedForm(r)}
	for state := range d.Counts {
		data.States = append(data.States, contract.Status(state))
	}
	slices.Sort(data.States)
	data.Authorities, data.Themes = groups(d.ByLocalAuthority), groups(d.ByTheme)
	data.Coaches = s.coaches(r)
	data.CanStart = d.Intake.Status != store.IntakeStarted && d.Intake.Status != store.IntakeFinished
	p.Data = data
	s.render(w, r, status, "intake", p)
}

// intakeStarts are the starts of the intake's sessions for the whole
// intake (see views.IntakeSessions for where they come from). The page
// is built from the store so that it answers while Temporal does not;
// then the sessions are named without dates rather than the page failing.
func (s *server) intakeStarts(r *http.Request, in store.Intake) map[string]time.Time {
	sessions, err := s.svc.Views.IntakeSessions(r.Context(), in)
	if err != nil {
		s.log.Warn("intake page without session dates", zap.Stringer("intake", in.ID), zap.Error(err))
		return nil
	}
	starts := make(map[string]time.Time, len(sessions))
	for _, it := range sessions {
		starts[it.ID] = it.OpensAt
	}
	return starts
}

// editIntake renames the intake and changes its number of places, from
// its page. Only what changed is sent: a rename alone never asks the
// intake's workflow, so it works after the start, when the places can no
// longer change. The workflow refuses (409, its reason on the page) a
// capacity below the places already offered or taken, or after the start.
func (s *server) editIntake(w http.ResponseWriter, r *http.Request) {
	in, ok := s.pathIntake(w, r)
	if !ok {
		return
	}
	id := in.ID
	form := postedForm(r)
	c := checks{lang: pageLang(r)}
	name := strings.TrimSpace(form.Get("name"))
	c.require(name != "", "name", "editintake.name.missing")
	capacity := c.intBetween(form, "capacity", "editintake.capacity.invalid", workflows.MinCapacity, workflows.MaxCapacity)
	again := func(status int, errs []fieldError) { s.renderIntake(w, r, status, errs) }
	if len(c.errs) > 0 {
		again(http.StatusUnprocessableEntity, c.errs)
		return
	}
	back := "/intakes/" + id.String()
	var edit commands.IntakeEdit
	if name != in.Name {
		edit.Name = &name
	}
	if capacity != in.Capacity {
		edit.Capacity = &capacity
	}
	if edit.Name == nil && edit.Capacity == nil {
		// The service calls an empty edit a mistake; on the page it is
		// just a form saved as it was.
		seeOther(w, r, back, "unchanged")
		return
	}
	_, err := s.svc.Commands.EditIntake(r.Context(), id, edit)
	s.finishForm(w, r, err, again, back, "edited")
}

// rescheduleSession moves one lab session for the whole intake, from the
// intake page; the intake refuses (409) a session that has started or an
// intake that has not.
func (s *server) rescheduleSession(w http.ResponseWriter, r *http.Request) {
	in, ok := s.pathIntake(w, r)
	if !ok {
		return
	}
	id := in.ID
	form := postedForm(r)
	c := checks{lang: pageLang(r)}
	session := c.oneOf(form, "session", "reschedule.session.missing", sessionIDs(in.ProgrammeID, in.ProgrammeVersion))
	at := c.timeField(form, "starts_at", "reschedule.time.invalid")
	again := func(status int, errs []fieldError) { s.renderIntake(w, r, status, errs) }
	if len(c.errs) > 0 {
		again(http.StatusUnprocessableEntity, c.errs)
		return
	}
	err := s.svc.Commands.RescheduleSession(r.Context(), id, session, at)
	s.finishForm(w, r, err, again, "/intakes/"+id.String(), "rescheduled")
}

// startIntake is the coordinator's start button.
func (s *server) startIntake(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	back := "/intakes/" + id.String()
	if _, err := s.svc.Commands.StartIntake(r.Context(), id); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	seeOther(w, r, back, "started")
}

// decide records a decision on one application, from the intake page.
func (s *server) decide(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	back := intakePageURL(j.IntakeID, pageAsked(r.PostFormValue))
	d := workflows.Decision(r.PostFormValue("decision"))
	if !slices.Contains([]workflows.Decision{workflows.DecisionOffer, workflows.DecisionWaitlist, workflows.DecisionReject}, d) {
		s.errorPage(w, r, http.StatusUnprocessableEntity, "error.form.title", "intake.decision.missing")
		return
	}
	if _, err := s.svc.Commands.Decide(r.Context(), j.IntakeID, j.JourneyID, d); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	seeOther(w, r, back, "decided")
}
