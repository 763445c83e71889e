package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/dev/devserver"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The load: 50 clients at once, as 25 coaches (loadCoaches; fewer under
// the race detector) with two browser tabs or systems each, each coach with
// three participants whose first three checkpoints are open: 225
// checkpoints, enough for 100 completions by 1 client and 100 by 50.
const (
	loadClients     = 2 * loadCoaches
	loadPerCoach    = 3
	loadCheckpoints = 3
	// loadSetupTimeout bounds applying, offering and accepting for everyone
	// (the intake's workflow takes the 150 applications and decisions one
	// at a time: about a minute on two cores) and the rush to the
	// checkpoints.
	loadSetupTimeout = 5 * time.Minute
)

// loadStack is the embedded dev stack `infuse dev` runs (the Temporal dev
// server on SQLite, the SQLite store, the worker, the HTTP API on
// loopback), with coaches whose checkpoints are open. Setting it up takes
// a minute or two, so the benchmark makes it once for its sub-benchmarks,
// which only read it (and use up checkpoints).
type loadStack struct {
	url     string
	tokens  []string // per coach
	bare    *benchref.Worker
	mu      sync.Mutex
	pending [][]string // per coach: checkpoint paths still to complete
	turn    int        // the coach whose checkpoint is next
}

// embedded is the stack `infuse dev` runs (the Temporal dev server on
// SQLite, the SQLite store, the worker) with the bare reference worker
// beside it, for benchmarks.
type embedded struct {
	svc  *app.App
	st   store.Store
	bare *benchref.Worker
}

func startEmbedded(ctx context.Context, b *testing.B, planner activities.Planner) (*embedded, error) {
	dir := b.TempDir()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	srv, err := devserver.Start(ctx, devserver.Options{DataDir: dir, Port: port, SearchAttributes: temporalx.SearchAttributes()})
	if err != nil {
		return nil, err
	}
	b.Cleanup(srv.Stop)
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "infuse.db"))
	if err != nil {
		return nil, err
	}
	opts := client.Options{HostPort: srv.FrontendAddress(), Namespace: devserver.DefaultNamespace,
		Logger: logging.NewTemporalLogger(zap.NewNop())}
	temporalx.WatchTaskAttempts(&opts) // the worker's local records are fenced by it
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, err
	}
	w := worker.New(tc, &activities.Activities{Store: st, Planner: planner})
	if err := w.Start(); err != nil {
		return nil, err
	}
	b.Cleanup(w.Stop)
	bare, err := benchref.Start(tc)
	if err != nil {
		return nil, err
	}
	b.Cleanup(bare.Stop)
	return &embedded{svc: app.New(tc, st), st: st, bare: bare}, nil
}

func startLoadStack(b *testing.B) (*loadStack, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadSetupTimeout)
	defer cancel()
	// Applications and offers for everyone first; once the intake starts,
	// three lab months and the first checkpoints pass in about 25 s; from
	// the third checkpoint's opening on, time runs at real speed.
	planner, err := testenv.UntilOpen(cohort1Start, factor, fmt.Sprintf("checkpoint/%d", loadCheckpoints))
	if err != nil {
		return nil, err
	}
	e, err := startEmbedded(ctx, b, planner)
	if err != nil {
		return nil, err
	}
	s := &loadStack{bare: e.bare}
	began := time.Now()
	if err := s.seed(ctx, b, e); err != nil {
		return nil, err
	}
	b.Logf("%d journeys applied, offered, accepted and started in %s",
		loadCoaches*loadPerCoach, time.Since(began).Round(time.Second))
	web := httptest.NewServer(api.New(e.svc, api.Options{}))
	b.Cleanup(web.Close)
	s.url = web.URL
	return s, s.waitOpen(ctx, planner.ToReal(planner.Knee))
}

// seed makes the coaches, their participants and tokens, and an intake
// that starts with everyone accepted.
func (s *loadStack) seed(ctx context.Context, b *testing.B, e *embedded) error {
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Load", FamilyName: "Coordinator", EmailAddress: "coord@load.example.org"}
	people := []store.Person{coord}
	var coaches []uuid.UUID
	for i := range loadCoaches {
		c := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Coach", FamilyName: fmt.Sprint(i), EmailAddress: fmt.Sprintf("coach%d@load.example.org", i)}
		people, coaches = append(people, c), append(coaches, c.ID)
		for k := range loadPerCoach {
			people = append(people, store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Participant", FamilyName: fmt.Sprintf("%d.%d", i, k),
				EmailAddress: fmt.Sprintf("p%d.%d@load.example.org", i, k), LocalAuthority: "Newport", Theme: "communities"})
		}
	}
	if err := e.st.CreatePeople(ctx, people); err != nil {
		return err
	}
	// The window stays open until the start: applying has no deadline.
	now := time.Now()
	in, err := e.svc.Commands.CreateIntake(ctx, commands.IntakeSpec{Name: "Load", CoordinatorID: coord.ID, Capacity: loadCoaches * loadPerCoach,
		OpensAt: now.Add(-time.Minute), ClosesAt: now.Add(time.Hour), StartsOn: now.Add(time.Hour)})
	if err != nil {
		return err
	}
	s.pending = make([][]string, loadCoaches)
	for _, coachID := range coaches {
		tok, _, err := e.st.CreateAPIToken(ctx, store.APIToken{PersonID: coachID, Role: store.RoleCoach, Name: "load test"})
		if err != nil {
			return err
		}
		s.tokens = append(s.tokens, tok)
	}
	// Coaches side by side, to be quick.
	errs := make(chan error, loadCoaches)
	for i, coachID := range coaches {
		go func() {
			var journeys []uuid.UUID
			for k := range loadPerCoach {
				j, err := acceptedJourney(ctx, e.svc, in.ID, people[1+i*(loadPerCoach+1)+1+k].ID, coachID)
				if err != nil {
					errs <- err
					return
				}
				journeys = append(journeys, j)
			}
			// Each journey's first checkpoint, then each one's second...:
			// a coach's two clients complete checkpoints of two journeys
			// at once, as the bare references update two workflows.
			for n := 1; n <= loadCheckpoints; n++ {
				for _, j := range journeys {
					s.pending[i] = append(s.pending[i], fmt.Sprintf("/api/journeys/%s/checkpoints/%d/complete", j, n))
				}
			}
			errs <- nil
		}()
	}
	for range coaches {
		if err := <-errs; err != nil {
			return err
		}
	}
	// The intake learns of acceptances by signal; it starts only those it has counted.
	waitForIntakeCount(ctx, b, e.svc, in.ID, contract.StatusAccepted, loadCoaches*loadPerCoach)
	_, err = e.svc.Commands.StartIntake(ctx, in.ID)
	return err
}

// acceptedJourney applies, offers and accepts, retrying for a few seconds
// while the intake's window is opening.
func acceptedJourney(ctx context.Context, svc *app.App, intake, person, coach uuid.UUID) (uuid.UUID, error) {
	j, err := svc.Commands.Apply(ctx, intake, person, coach)
	for tries := 0; err != nil && tries < 50; tries++ {
		time.Sleep(100 * time.Millisecond)
		j, err = svc.Commands.Apply(ctx, intake, person, coach)
	}
	if err != nil {
		return j, err
	}
	if _, err := svc.Commands.Decide(ctx, intake, j, workflows.DecisionOffer); err != nil {
		return j, err
	}
	for tries := 0; tries < 100; tries++ {
		if _, err = svc.Commands.RespondToOffer(ctx, j, true); err == nil {
			return j, nil
		}
		time.Sleep(50 * time.Millisecond) // the offer is made a moment after the decision
	}
	return j, err
}

// waitOpen waits until every coach's inbox shows its checkpoints open.
func (s *loadStack) waitOpen(ctx context.Context, knee time.Time) error {
	time.Sleep(time.Until(knee))
	for i, tok := range s.tokens {
		for {
			var inbox struct{ Open []json.RawMessage }
			status, err := s.call(ctx, http.MethodGet, "/api/coach/inbox", tok, "", nil, &inbox)
			if err == nil && status == http.StatusOK && len(inbox.Open) == loadPerCoach*loadCheckpoints {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("coach %d's checkpoints did not open (last: %d %v, %d open)", i, status, err, len(inbox.Open))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}

func (s *loadStack) call(ctx context.Context, method, path, token, key string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, err
}

// next takes the next checkpoint to complete, from the coaches in turn,
// and says whose it is.
func (s *loadStack) next() (coach int, path string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range loadCoaches {
		coach, s.turn = s.turn, (s.turn+1)%loadCoaches
		if p := s.pending[coach]; len(p) > 0 {
			s.pending[coach] = p[1:]
			return coach, p[0], true
		}
	}
	return 0, "", false
}

func (s *loadStack) remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.pending {
		n += len(p)
	}
	return n
}

// BenchmarkCoachLoad measures, on the embedded dev stack over loopback
// HTTP, what coaches wait for, by 1 and by 50 clients at once (loadClients;
// fewer under the race detector), each beside bare Temporal workflows on
// the same server in the same run (dev/benchref):
//
//   - complete: completing a checkpoint (the idempotency claim, the note
//     stored, the journey's Update validated, the event recorded), against
//     an Update that only changes state, one that runs one activity and
//     one that runs one local activity;
//   - inbox: the coach's inbox (a store read: the projection carries each
//     journey's open checkpoints, so no workflow is queried), against the
//     state-only Update, the least a round trip to a workflow costs.
//
// Each reports ops/s and p50/p99 in ms, the bare shapes' too, and its
// ratios to them (x-state-ops: its throughput over the bare one's).
// Completions use up open checkpoints (loadCheckpoints per participant),
// so give it a count:
//
//	go test ./e2e/ -run '^$' -bench CoachLoad -benchtime 100x
func BenchmarkCoachLoad(b *testing.B) {
	s, err := startLoadStack(b)
	if err != nil {
		b.Fatal(err)
	}
	for _, clients := range []int{1, loadClients} {
		b.Run(fmt.Sprintf("complete/clients=%d", clients), func(b *testing.B) {
			if n := s.remaining(); b.N > n {
				b.Skipf("only %d open checkpoints are left for %d completions: use -benchtime %dx or fewer", n, b.N, n)
			}
			s.bare.Measure(b, clients, s.completeNext, benchref.StateUpdate, benchref.ActivityUpdate, benchref.LocalUpdate)
		})
		b.Run(fmt.Sprintf("inbox/clients=%d", clients), func(b *testing.B) {
			var next atomic.Int64
			s.bare.Measure(b, clients, func(ctx context.Context) error {
				tok := s.tokens[int(next.Add(1))%loadCoaches]
				status, err := s.call(ctx, http.MethodGet, "/api/coach/inbox", tok, "", nil, nil)
				return wantStatus(status, err, http.StatusOK)
			}, benchref.StateUpdate)
		})
	}
}

// completeNext completes the next open checkpoint, as its coach.
func (s *loadStack) completeNext(ctx context.Context) error {
	coach, path, ok := s.next()
	if !ok {
		return fmt.Errorf("no open checkpoint is left")
	}
	body := []byte(`{"notes":"Going well; next step agreed.","status":"green"}`)
	status, err := s.call(ctx, http.MethodPost, path, s.tokens[coach], uuid.NewString(), body, nil)
	return wantStatus(status, err, http.StatusOK)
}

func wantStatus(got int, err error, want int) error {
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("status %d, want %d", got, want)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
