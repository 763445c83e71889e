package web_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// reply is what the pages answered one post of a form.
type reply struct {
	key      string // the form's idempotency_key
	status   int
	replayed bool   // Idempotent-Replayed: the stored answer to an earlier post
	location string // where a redirect leads
	body     string
}

func replyOf(form url.Values, a answer) reply {
	return reply{key: form.Get("idempotency_key"), status: a.StatusCode, replayed: a.Header.Get(idempotency.ReplayedHeader) == "true",
		location: a.Header.Get("Location"), body: a.body}
}

// busy is the page's word (in English) for a post whose key another post
// of the same form is still using.
const busy = "This form is still being handled"

// actedOnce checks the replies to posts of one form under its one
// idempotency key: exactly one acted, redirecting (303) to the page that
// shows the result; every other was told that one is still being handled
// (409) or sent to the same page, marked as replayed. It returns where the
// one that acted redirected.
func actedOnce(t *testing.T, replies []reply) string {
	t.Helper()
	acted, waiting, replayed := -1, 0, 0
	for i, r := range replies {
		switch {
		case r.key == "" || r.key != replies[0].key:
			t.Fatalf("the posts carried the keys %q and %q, want one", replies[0].key, r.key)
		case r.status == http.StatusConflict && strings.Contains(r.body, busy):
			waiting++
		case r.replayed:
			replayed++
		case acted < 0:
			acted = i
		default:
			t.Fatalf("two posts of one form acted: %d to %q and %d to %q", replies[acted].status, replies[acted].location, r.status, r.location)
		}
	}
	if acted < 0 {
		t.Fatalf("no post of the form acted: %+v", replies)
	}
	first := replies[acted]
	if first.status != http.StatusSeeOther {
		t.Fatalf("the post that acted: %d, want 303\n%s", first.status, first.body)
	}
	t.Logf("of %d posts of one form: one acted, %d found it still being handled, %d got its answer", len(replies), waiting, replayed)
	for _, r := range replies {
		if r.replayed && (r.status != first.status || r.location != first.location) {
			t.Errorf("a replayed post: %d to %q, the one that acted %d to %q", r.status, r.location, first.status, first.location)
		}
	}
	return first.location
}

// holdFirst stands in front of the pages and holds the answer to the first
// post to action, once the pages have made it, until a second post to it
// has arrived: as a slow answer does when a person, seeing nothing happen,
// presses the button again. It keeps what each post was answered.
type holdFirst struct {
	action   string
	answered chan struct{} // closed once the pages have answered the first post
	second   chan struct{} // closed when the second post arrives

	mu      sync.Mutex
	replies []reply
}

func newHoldFirst(action string) *holdFirst {
	return &holdFirst{action: action, answered: make(chan struct{}), second: make(chan struct{})}
}

func (g *holdFirst) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != g.action {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		g.mu.Lock()
		n := len(g.replies)
		g.replies = append(g.replies, reply{})
		g.mu.Unlock()
		if n == 1 {
			close(g.second)
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		g.mu.Lock()
		g.replies[n] = replyOf(form, answer{Response: rec.Result(), body: rec.Body.String()})
		g.mu.Unlock()
		if n == 0 {
			close(g.answered)
			select {
			case <-g.second:
			case <-time.After(time.Minute): // only bounds a failure: no second post came
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// waitAnswered waits until the pages have answered the first post.
func (g *holdFirst) waitAnswered(t *testing.T) {
	t.Helper()
	select {
	case <-g.answered:
	case <-time.After(time.Minute):
		t.Fatalf("the pages never answered a post to %s", g.action)
	}
}

func (g *holdFirst) posts() []reply {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]reply(nil), g.replies...)
}

// Issue 8, through the pages: a form sent twice under its one idempotency
// key acts once. Over HTTP, the coordinator's decision posted twice at the
// same moment; in Chromium, the withdrawal form pressed again while the
// answer to the first press is still on its way.
func TestAFormSentTwiceActsOnce(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	if testing.Short() {
		t.Skip("runs a Temporal server and a browser")
	}
	w := newWorld(t, browserPace)

	coord := w.s.browser()
	coord.signIn(w.coordinator)
	intakePath := "/intakes/" + w.intake.ID.String()
	action := fmt.Sprintf("/journeys/%s/decision", w.journey)
	form := formFields(t, coord.get(intakePath).body, action)
	form.Set("decision", "offer")
	replies := make([]reply, 2)
	errs := make([]error, 2)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() {
			<-release
			var a answer
			a, errs[i] = coord.send(http.MethodPost, action, form)
			replies[i] = replyOf(form, a)
		})
	}
	close(release)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	to := actedOnce(t, replies)
	// Posted again once both have answered: the first answer, again.
	if again := replyOf(form, coord.post(action, form)); !again.replayed || again.location != to {
		t.Errorf("the decision posted again: %d to %q (replayed %v), want the first answer, to %q", again.status, again.location, again.replayed, to)
	}
	expect(t, "the page after the decision", coord.get(to), http.StatusOK, "decision is recorded")
	w.eventually("the offer is made", 15*time.Second, func() (bool, error) { return w.events(w.journey, "offer.made") > 0, nil })
	if n := w.events(w.journey, "offer.made"); n != 1 {
		t.Errorf("%d offer.made events after one decision posted twice, want 1", n)
	}

	// In the browser, on pages whose answer to the first press the test
	// holds until the second press has reached them.
	journeyPath := "/journeys/" + w.otherJourney.String()
	hold := newHoldFirst(journeyPath + "/withdraw")
	s := newSite(t, siteOptions{svc: w.svc, st: w.st, wrap: hold.wrap})
	tb := newTab(t, s.srv.URL)
	tb.signIn(s, w.coordinator, "/")
	tb.open(journeyPath)
	tb.do(chromedp.SetValue(chromedp.CSS("#reason"), "job-change"), chromedp.SendKeys(chromedp.CSS("#note"), "Moving to Swansea."))
	// Both presses are mouse clicks where the button is on the screen:
	// while a page is loading, chromedp's element queries wait for it, and
	// the second press must land while the first answer is still awaited.
	at := run(tb, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const b = document.querySelector('form[action=%q] button[type=submit]');
		b.scrollIntoView({block: 'center'});
		const r = b.getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})()`, hold.action)))
	tb.leave()
	tb.do(chromedp.MouseClickXY(at[0], at[1]))
	hold.waitAnswered(t)
	tb.do(chromedp.MouseClickXY(at[0], at[1]))
	tb.arrive("pressing withdraw twice", journeyPath)
	posts := hold.posts()
	if len(posts) != 2 {
		t.Fatalf("the browser posted the withdrawal %d times, want twice: %+v", len(posts), posts)
	}
	if to := actedOnce(t, posts); !strings.HasPrefix(to, journeyPath) {
		t.Errorf("the withdrawal leads to %q, want the journey's page", to)
	}
	if flash := tb.text(".flash"); !strings.Contains(flash, "The participant is withdrawn") {
		t.Errorf("after pressing twice, the page says %q", flash)
	}
	tb.shot("10-coordinator-withdrawn-after-pressing-twice")
	withdrawn := "journey." + string(contract.StatusWithdrawn)
	w.eventually("the withdrawal is recorded", 15*time.Second, func() (bool, error) { return w.events(w.otherJourney, withdrawn) > 0, nil })
	if n := w.events(w.otherJourney, withdrawn); n != 1 {
		t.Errorf("%d journey.withdrawn events after pressing twice, want 1", n)
	}
	if notes, err := w.st.NotesOfJourney(w.ctx, w.otherJourney); err != nil || len(notes) != 1 {
		t.Errorf("%d withdrawal notes (%v), want 1", len(notes), err)
	}
}
