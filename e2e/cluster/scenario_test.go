package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/dev/cluster"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

const (
	participantCount = 52
	coachCount       = 4
	// speed is the rehearsal clock's at most: six programme months in
	// about 2.6 minutes, a lab session every 6 s, the last checkpoint open
	// for 15 s before the journey is assessed. A machine that took longer
	// than setUpPace to set up runs the programme slower (paced).
	speed     = 100_000
	setUpPace = 15 * time.Second
	// lead is how far ahead of the rehearsal's start, on the programme's
	// clock, the intake's first day is: 14 days, 12 s of real time for
	// the start to reach 52 journeys before the first session.
	lead = 14 * 24 * time.Hour
)

// role is what a participant does in the scenario.
type role int

const (
	completer  role = iota // attends every session, hands everything in
	absentee               // misses the four Adaption Lab sessions: 67% < 75%
	withdrawer             // withdrawn after the second session opens
)

func roleOf(i int) role {
	switch i % 13 {
	case 0:
		return withdrawer
	case 1:
		return absentee
	}
	return completer
}

type person struct {
	id    uuid.UUID
	email string
	token string
}

// journeyRun is one journey and what the API accepted for it.
type journeyRun struct {
	id          uuid.UUID
	role        role
	participant person
	coach       person
	// accepted counts what the API accepted, by event type.
	mu       sync.Mutex
	accepted map[string]int
	refused  []string
}

func (j *journeyRun) took(eventType string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.accepted[eventType]++
}

func (j *journeyRun) refusal(what string, a answer) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.refused = append(j.refused, fmt.Sprintf("%s: %d %s", what, a.status, a.body))
}

// intakeRun is the intake the scenario runs.
type intakeRun struct {
	id          uuid.UUID
	coordinator person
	journeys    []*journeyRun
	clock       activities.RehearsalClock
	schedule    programme.Schedule
	// chaos is what was done to the cluster while it ran.
	chaos []string
}

// runIntake sets an intake up through the API (people, applications,
// offers, acceptances), starts the rehearsal with a rolling restart of the
// workers, starts the intake and plays every person's part until every
// journey has finished, while the cluster is knocked about.
func (s *system) runIntake(ctx context.Context) *intakeRun {
	r := &intakeRun{}
	began := time.Now()
	r.coordinator = s.bootstrapCoordinator(ctx)
	coaches, participants := s.importPeople(ctx, r.coordinator, "scenario", coachCount, participantCount)
	startsOn := time.Now().In(programme.London).Add(lead + 24*time.Hour).Format("2006-01-02")
	r.id = s.createIntake(ctx, r.coordinator, startsOn, participantCount)
	r.journeys = s.applyAll(ctx, r, coaches, participants)
	s.t.Logf("%d applications made, offered and accepted through the API in %s", len(r.journeys), time.Since(began).Round(time.Second))

	r.clock = activities.RehearsalClock{From: time.Now().Add(2 * time.Second).UTC().Truncate(time.Second), Speed: paced(time.Since(began))}
	s.rollingRestart(ctx, r.clock)
	a, err := s.client.post(ctx, r.coordinator.token, "/api/intakes/"+r.id.String()+"/start", struct{}{})
	if err != nil || !a.ok() {
		s.t.Fatalf("starting the intake: %v %d %s", err, a.status, a.body)
	}
	day, _ := commands.ParseTime(startsOn)
	if r.schedule, err = (activities.RehearsalPlanner{Clock: r.clock}).Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: day}); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("the intake started; its programme runs from %s to %s", r.schedule.Phases[0].Start.Format(time.TimeOnly), r.schedule.EndsAt.Format(time.TimeOnly))

	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		r.chaos = s.knockAbout(ctx, r.clock, r.schedule.EndsAt)
	}()
	var wg sync.WaitGroup
	for _, j := range r.journeys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.play(ctx, r, j)
		}()
	}
	wg.Wait()
	<-chaosDone
	s.waitFinished(ctx, r)
	return r
}

// bootstrapCoordinator makes the first coordinator and their API token
// with the CLI, as an operator installing the system does.
func (s *system) bootstrapCoordinator(ctx context.Context) person {
	csv := filepath.Join(s.dir, "coordinator.csv")
	data := "role,given_name,family_name,email,language\ncoordinator,Cara,Cydlynydd,cara@cluster.test,cy\n"
	if err := os.WriteFile(csv, []byte(data), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.cli(ctx, "people", "import", csv)
	out := s.cli(ctx, "--json", "token", "create", "--person", "cara@cluster.test", "--role", "coordinator", "--name", "cluster test")
	var tok struct {
		Token  string    `json:"token"`
		Person uuid.UUID `json:"person"`
	}
	if err := decodeJSON(out, &tok); err != nil || tok.Token == "" {
		s.t.Fatalf("token create printed %q: %v", out, err)
	}
	return person{id: tok.Person, email: "cara@cluster.test", token: tok.Token}
}

// cli runs an infuse command with the cluster's environment.
func (s *system) cli(ctx context.Context, args ...string) []byte {
	cmd := exec.CommandContext(ctx, s.bins.Infuse, args...)
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("infuse %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// importPeople imports coaches and participants through the API, their
// addresses marked with tag (unique within a test), and gives each a token.
func (s *system) importPeople(ctx context.Context, coord person, tag string, coaches, participants int) (cs, ps []person) {
	email := func(kind string, i int) string { return fmt.Sprintf("%s-%s%d@cluster.test", tag, kind, i) }
	var csv strings.Builder
	csv.WriteString("role,given_name,family_name,email,local_authority,theme,language\n")
	for i := range coaches {
		fmt.Fprintf(&csv, "coach,Coach,%d,%s,,,en\n", i, email("coach", i))
	}
	for i := range participants {
		fmt.Fprintf(&csv, "participant,Participant,%d,%s,Newport,communities,%s\n", i, email("p", i), []string{"cy", "en"}[i%2])
	}
	a, err := s.client.call(ctx, coord.token, "POST", "/api/people/import", "text/csv", []byte(csv.String()))
	if err != nil || !a.ok() {
		s.t.Fatalf("importing people: %v %d %s", err, a.status, a.body)
	}
	find := func(email string, role store.Role) person {
		p, err := s.store.FindPersonByEmail(ctx, email)
		if err != nil {
			s.t.Fatal(err)
		}
		tok, _, err := s.store.CreateAPIToken(ctx, store.APIToken{PersonID: p.ID, Role: role, Name: "cluster test"})
		if err != nil {
			s.t.Fatal(err)
		}
		return person{id: p.ID, email: email, token: tok}
	}
	for i := range coaches {
		cs = append(cs, find(email("coach", i), store.RoleCoach))
	}
	for i := range participants {
		ps = append(ps, find(email("p", i), store.RoleParticipant))
	}
	return cs, ps
}

func (s *system) createIntake(ctx context.Context, coord person, startsOn string, capacity int) uuid.UUID {
	now := time.Now()
	a, err := s.client.post(ctx, coord.token, "/api/intakes", api.CreateIntakeRequest{
		Name: "Cluster cohort", Capacity: capacity, StartsOn: startsOn,
		OpensAt: now.Add(-time.Minute).Format(time.RFC3339), ClosesAt: now.Add(2 * time.Hour).Format(time.RFC3339),
	})
	var in struct{ ID uuid.UUID }
	if err == nil {
		err = a.decode(&in)
	}
	if err != nil {
		s.t.Fatalf("creating the intake: %v", err)
	}
	return in.ID
}

// applyAll applies for every participant, offers each a place and has
// each accept, eight at a time, and waits until the intake has counted
// every acceptance.
func (s *system) applyAll(ctx context.Context, r *intakeRun, coaches, participants []person) []*journeyRun {
	journeys := make([]*journeyRun, len(participants))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, p := range participants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			j := &journeyRun{role: roleOf(i), participant: p, coach: coaches[i%len(coaches)], accepted: map[string]int{}}
			j.id = s.applied(ctx, r, j)
			journeys[i] = j
		}()
	}
	wg.Wait()
	if s.t.Failed() {
		s.t.FailNow()
	}
	// The intake learns of acceptances by signal, and starts only those it
	// has counted: a report it lost would leave a journey behind for good.
	counted := func() (map[workflows.Status]int, error) {
		var counts map[workflows.Status]int
		v, err := s.tc.QueryWorkflow(ctx, workflows.IntakeWorkflowID(r.id), "", workflows.QueryIntakeCounts)
		if err == nil {
			err = v.Get(&counts)
		}
		return counts, err
	}
	deadline := time.Now().Add(countAcceptancesWithin)
	for {
		counts, err := counted()
		if err == nil && counts[contract.StatusAccepted] == len(participants) {
			return journeys
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the intake counted %v (%v) of %d acceptances %s after the last was answered: "+
				"read the journey-status signals in workflow %s's history (temporal workflow show)",
				counts, err, len(participants), countAcceptancesWithin, workflows.IntakeWorkflowID(r.id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countAcceptancesWithin bounds the wait for the intake to count the
// acceptances the journeys have answered: reports are signals, which a
// loaded cluster delivers in seconds.
const countAcceptancesWithin = 3 * time.Minute

// applied is one application, offer and acceptance; it returns the journey.
func (s *system) applied(ctx context.Context, r *intakeRun, j *journeyRun) uuid.UUID {
	var ap api.Applied
	a, err := s.client.post(ctx, r.coordinator.token, "/api/intakes/"+r.id.String()+"/applications",
		api.ApplyRequest{PersonID: j.participant.id, CoachID: j.coach.id})
	if err == nil {
		err = a.decode(&ap)
	}
	if err != nil {
		s.t.Errorf("applying for %s: %v", j.participant.email, err)
		return uuid.Nil
	}
	path := "/api/journeys/" + ap.JourneyID.String()
	if a, err := s.client.post(ctx, r.coordinator.token, path+"/decision", api.DecisionRequest{Decision: workflows.DecisionOffer}); err != nil || !a.ok() {
		s.t.Errorf("offering %s a place: %v %d %s", j.participant.email, err, a.status, a.body)
		return ap.JourneyID
	}
	// The offer is made a moment after the decision: until then, accepting is refused.
	accept := true
	for {
		a, err := s.client.post(ctx, j.participant.token, path+"/offer", api.OfferResponse{Accept: &accept})
		if err != nil {
			s.t.Errorf("accepting for %s: %v", j.participant.email, err)
			return ap.JourneyID
		}
		if a.ok() {
			return ap.JourneyID
		}
		select {
		case <-ctx.Done():
			s.t.Errorf("accepting for %s: %d %s", j.participant.email, a.status, a.body)
			return ap.JourneyID
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rollingRestart redeploys the workers one at a time with the rehearsal
// clock, as an operator changes a setting: the other worker carries on
// meanwhile, so nothing stops.
func (s *system) rollingRestart(ctx context.Context, clock activities.RehearsalClock) {
	for i, w := range s.workers {
		if err := w.Stop(30 * time.Second); err != nil {
			s.t.Fatal(err)
		}
		w.SetEnv(s.workerEnv(i, clock))
		if err := w.Start(); err != nil {
			s.t.Fatal(err)
		}
		s.waitLog(ctx, w, "REHEARSAL")
		s.waitLog(ctx, w, "worker running") // before the next goes: the restart rolls
	}
}

// paced is the rehearsal's speed for a machine that took setUp to apply,
// offer and accept for everyone: the people of the scenario must keep up
// with the programme, so a loaded machine gets more real time for it.
func paced(setUp time.Duration) int64 {
	if setUp <= setUpPace {
		return speed
	}
	// No slower than a quarter: ten minutes for the programme, inside the
	// test's bound.
	return max(speed/4, int64(float64(speed)*float64(setUpPace)/float64(setUp)))
}

// workerEnv is the environment of worker i on the rehearsal clock: the
// first also serves its metrics; those past s.deliverers send no mail.
func (s *system) workerEnv(i int, clock activities.RehearsalClock) []string {
	env := rehearsalEnv(s.env, clock)
	if i == 0 {
		env = append(env, "INFUSE_METRICS_ADDR="+s.metrics)
	}
	if i >= s.deliverers {
		env = slices.DeleteFunc(env, func(v string) bool {
			return strings.HasPrefix(v, "INFUSE_SMTP_") || strings.HasPrefix(v, "INFUSE_MAIL_FROM=")
		})
	}
	return env
}

// previousRelease is the build the cluster test upgrades from while its
// intake runs: what landed before issue 9 was resolved (lifecycle-guard 4,
// outbox claims, a stopping worker marking what it sent). Move it to the
// last release when one is cut, so that every workflow change since is
// carried across a real rolling upgrade. (It was 831e074, the first build
// with the rehearsal clock; a worker of that build stopped mid-send left
// its sends unmarked, and the upgrade then sent them twice.)
const previousRelease = "92c4291059c929153fc9dc6d17e8ed9bc1c7b10d"

// upgrade moves the cluster from the previous release to this build, one
// process at a time, as README's "Deploying a new release" says for the
// first release with outbox claims (still safe for later ones): the second
// worker first, without mail; then the first, which delivers; then the
// second again, delivering too; then the API. Histories the old build
// wrote carry on under the new one.
func (s *system) upgrade(ctx context.Context, clock activities.RehearsalClock) error {
	redeploy := func(p *cluster.Process, env []string, ready string) error {
		if err := p.Stop(30 * time.Second); err != nil {
			return err
		}
		p.SetProgram(s.bins.Infuse)
		p.SetEnv(env)
		if err := p.Start(); err != nil {
			return err
		}
		return waitStarted(ctx, p, ready)
	}
	if err := redeploy(s.workers[1], s.workerEnv(1, clock), "worker running"); err != nil {
		return err
	}
	if err := redeploy(s.workers[0], s.workerEnv(0, clock), "worker running"); err != nil {
		return err
	}
	s.deliverers = 2
	if err := redeploy(s.workers[1], s.workerEnv(1, clock), "worker running"); err != nil {
		return err
	}
	return redeploy(s.api, s.env, "API listening")
}

// rehearsalEnv is env with the rehearsal clock's variables.
func rehearsalEnv(env []string, clock activities.RehearsalClock) []string {
	env = append(slices.Clone(env),
		"INFUSE_REHEARSAL_FROM="+clock.From.UTC().Format(time.RFC3339), fmt.Sprintf("INFUSE_REHEARSAL_SPEED=%d", clock.Speed))
	if !clock.Until.IsZero() {
		env = append(env, "INFUSE_REHEARSAL_UNTIL="+clock.Until.UTC().Format(time.RFC3339))
	}
	return env
}

// play is one journey's people doing their part as each item opens: the
// coordinator recording attendance (and withdrawing a withdrawer), the
// participant handing in the plan and the reflection, the coach
// completing the checkpoints.
func (s *system) play(ctx context.Context, r *intakeRun, j *journeyRun) {
	items := slices.Clone(r.schedule.Items)
	slices.SortStableFunc(items, func(a, b programme.Item) int { return a.OpensAt.Compare(b.OpensAt) })
	path := "/api/journeys/" + j.id.String()
	for _, it := range items {
		if !sleepUntil(ctx, it.OpensAt.Add(200*time.Millisecond)) {
			return
		}
		if j.role == withdrawer && it.ID == "adaption-lab/2" {
			s.act(ctx, j, "withdrawn", r.coordinator.token, path+"/withdraw", api.WithdrawRequest{Reason: "workload"})
			return
		}
		switch it.Kind {
		case programme.KindSession:
			attended := j.role != absentee || !strings.HasPrefix(it.ID, "adaption-lab/")
			event := "attendance.present"
			if !attended {
				event = "attendance.absent"
			}
			s.act(ctx, j, event, r.coordinator.token, path+"/attendance", api.AttendanceRequest{Session: it.ID, Attended: &attended})
		case programme.KindPlan, programme.KindReflection:
			s.act(ctx, j, it.ID+".submitted", j.participant.token, path+"/tasks/"+it.ID+"/submit", api.SubmitTaskRequest{Text: "What I will try, and why."})
		case programme.KindCheckpoint:
			n := strings.TrimPrefix(it.ID, "checkpoint/")
			s.act(ctx, j, "checkpoint.completed", j.coach.token, path+"/checkpoints/"+n+"/complete",
				api.CompleteCheckpointRequest{Notes: "Going well.", Status: workflows.RAGGreen})
		}
	}
}

// act makes one request and notes whether the journey took it.
func (s *system) act(ctx context.Context, j *journeyRun, event, token, path string, body any) {
	a, err := s.client.post(ctx, token, path, body)
	switch {
	case err != nil:
		s.t.Errorf("%s: %v", path, err)
	case a.ok():
		j.took(event)
	default:
		j.refusal(path, a)
	}
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(t)):
		return true
	}
}

// knockAbout upgrades the cluster to this build, then kills a worker with
// SIGKILL four times, bringing it back a few seconds later each time, and
// restarts the Temporal server once, spread over the programme's run
// (clock.From..ends), and says what it did.
func (s *system) knockAbout(ctx context.Context, clock activities.RehearsalClock, ends time.Time) []string {
	from := clock.From
	span := ends.Sub(from)
	var done []string
	at := func(f float64) bool { return sleepUntil(ctx, from.Add(time.Duration(f*float64(span)))) }
	steps := []struct {
		when float64
		what string
		do   func() error
	}{
		{0.1, "upgraded worker-2, worker-1 and the API from " + previousRelease[:7] + " to this build, one at a time",
			func() error { return s.upgrade(ctx, clock) }},
		{0.15, "killed worker-1 (SIGKILL)", func() error { return s.bounce(ctx, s.workers[0]) }},
		{0.35, "killed worker-2 (SIGKILL)", func() error { return s.bounce(ctx, s.workers[1]) }},
		{0.5, "restarted the Temporal server (/readyz went 503, then 200)", func() error { return s.restartTemporal(ctx) }},
		{0.65, "killed worker-1 (SIGKILL)", func() error { return s.bounce(ctx, s.workers[0]) }},
		{0.85, "killed worker-1 (SIGKILL)", func() error { return s.bounce(ctx, s.workers[0]) }},
	}
	for _, step := range steps {
		if !at(step.when) {
			break
		}
		if err := step.do(); err != nil {
			s.t.Errorf("%s: %v", step.what, err)
			break
		}
		done = append(done, fmt.Sprintf("%s at %s", step.what, time.Now().Format("15:04:05.000")))
	}
	return done
}

// bounce kills a worker outright and starts it again after a pause, as a
// crashed process is restarted by its supervisor, until it runs again.
func (s *system) bounce(ctx context.Context, w *cluster.Process) error {
	if err := w.Kill(); err != nil {
		return err
	}
	for _, m := range delivererName.FindAllStringSubmatch(w.LastRun(), -1) {
		if s.killedDeliverers == nil {
			s.killedDeliverers = map[string]bool{}
		}
		s.killedDeliverers[m[1]] = true
	}
	if !sleepUntil(ctx, time.Now().Add(3*time.Second)) {
		return ctx.Err()
	}
	if err := w.Start(); err != nil {
		return err
	}
	return waitStarted(ctx, w, "worker running")
}

// delivererName finds a deliverer's name in the lines it logs.
var delivererName = regexp.MustCompile(`"deliverer":"(deliverer/[0-9a-f-]+)"`)

// restartTemporal stops the server as an upgrade would and starts it again
// on the same databases. Meanwhile the API says it is not ready, and then
// that it is again.
func (s *system) restartTemporal(ctx context.Context) error {
	if err := s.temporal.Stop(30 * time.Second); err != nil {
		return err
	}
	if err := s.waitReadiness(ctx, http.StatusServiceUnavailable); err != nil {
		return err
	}
	if err := s.temporal.Start(); err != nil {
		return err
	}
	if err := s.temporal.WaitServing(ctx); err != nil {
		return err
	}
	return s.waitReadiness(ctx, http.StatusOK)
}

// waitReadiness waits until the API's /readyz answers want.
func (s *system) waitReadiness(ctx context.Context, want int) error {
	for {
		resp, err := s.client.http.Get(s.client.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
		}
		if !sleepUntil(ctx, time.Now().Add(50*time.Millisecond)) {
			return fmt.Errorf("the API's /readyz never answered %d", want)
		}
	}
}

// waitFinished waits until every journey has finished and every message
// the journeys queued has been delivered.
func (s *system) waitFinished(ctx context.Context, r *intakeRun) {
	s.eventually(ctx, "every journey to finish", func() (bool, error) {
		js, err := s.store.ListJourneys(ctx, r.id)
		if err != nil {
			return false, err
		}
		for _, j := range js {
			if !j.State.Terminal() {
				return false, nil
			}
		}
		return len(js) == len(r.journeys), nil
	})
	s.eventually(ctx, "the outbox to be delivered", func() (bool, error) {
		queued, err := s.store.ListMessages(ctx, store.OutboxFilter{IntakeID: r.id, Status: store.MessageQueued})
		return len(queued) == 0, err
	})
}

func decodeJSON(b []byte, v any) error { return answer{status: 200, body: b}.decode(v) }
