package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
)

// rerender shows the page a form is on again, with status and an error
// summary: every form that can fail keeps what was typed this way rather
// than sending the person to an error page and back to an empty form.
type rerender func(status int, errs []fieldError)

// finishForm ends a form handler once the service has answered: on success
// post/redirect/get to `to` with the flash done; a refusal (a mistake the
// service found, 422, or the journey's or intake's own reason, 409) on the
// form's page with its reason; anything else (nothing to act on, a
// failure) on the error page.
func (s *server) finishForm(w http.ResponseWriter, r *http.Request, err error, again rerender, to, done string) {
	if err == nil {
		seeOther(w, r, to, done)
		return
	}
	status, reason, known := refusal(r, err)
	if !known || errors.Is(err, apperr.ErrNotFound) {
		s.failAction(w, r, to, err)
		return
	}
	again(status, []fieldError{{Message: pageLang(r).T("error.refused.body"), Detail: reason}})
}

// checks collects a form's field errors in the page's language.
type checks struct {
	lang Lang
	errs []fieldError
}

// require adds the message of key, about field, unless ok.
func (c *checks) require(ok bool, field, key string) {
	if !ok {
		c.errs = append(c.errs, fieldError{Field: field, Message: c.lang.T(key)})
	}
}

// timeField reads a date or time field as the API and command line do
// (commands.ParseTime); a field error unless it parses.
func (c *checks) timeField(form url.Values, field, key string) time.Time {
	t, ok := commands.ParseTime(form.Get(field))
	c.require(ok, field, key)
	return t
}

// oneOf reads a field that must be one of choices, e.g. a select's value.
func (c *checks) oneOf(form url.Values, field, key string, choices []string) string {
	v := strings.TrimSpace(form.Get(field))
	c.require(slices.Contains(choices, v), field, key)
	return v
}

// positiveInt reads a whole number of at least 1.
func (c *checks) positiveInt(form url.Values, field, key string) int {
	n, err := strconv.Atoi(strings.TrimSpace(form.Get(field)))
	c.require(err == nil && n >= 1, field, key)
	return n
}

// intBetween reads a whole number from lo to hi; the message of key is
// formatted with lo and hi, so it always states the range enforced.
func (c *checks) intBetween(form url.Values, field, key string, lo, hi int) int {
	n, err := strconv.Atoi(strings.TrimSpace(form.Get(field)))
	if err != nil || n < lo || n > hi {
		c.errs = append(c.errs, fieldError{Field: field, Message: fmt.Sprintf(c.lang.T(key), lo, hi)})
	}
	return n
}

// postedForm is the request's form, parsed (the guard has already bounded
// the body); nil on a GET, so templates show empty fields.
func postedForm(r *http.Request) url.Values {
	if r.Method != http.MethodPost {
		return nil
	}
	_ = r.ParseForm()
	return r.PostForm
}

// sessionIDs are the lab sessions of a programme version in order
// ("adaption-lab/1", …): the choices of the attendance and reschedule
// forms. None if this build does not have the version.
func sessionIDs(programmeID string, version int) []string {
	p, err := programme.Lookup(programmeID, version)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range p.Labs {
		for n := 1; n <= l.Sessions; n++ {
			out = append(out, l.Key+"/"+strconv.Itoa(n))
		}
	}
	return out
}

// sessionChoice is one option of a session list: the value sent is the
// session's ID, as before; StartsAt (zero when unknown) is shown with its
// name, because "Adaption Lab 2" alone makes a coordinator look the date
// up elsewhere.
type sessionChoice struct {
	ID       string
	StartsAt time.Time
}

// sessionChoices are the sessions of ids, in their order, each with its
// start in starts if known. The IDs come from the programme, not from the
// schedule, so the choices are the same whether or not the schedule could
// be read.
func sessionChoices(ids []string, starts map[string]time.Time) []sessionChoice {
	out := make([]sessionChoice, 0, len(ids))
	for _, id := range ids {
		out = append(out, sessionChoice{ID: id, StartsAt: starts[id]})
	}
	return out
}

// requestID names a change for the journey workflow (its update ID, and
// the seed of its note's ID), as the API's requestID does: the form's
// idempotency key, so a retry the stored answer no longer covers still
// acts once, prefixed with who sent it, because the key is the browser's
// to choose and a coach's and a participant's changes to one journey
// must never be taken for the same update.
func requestID(r *http.Request) string {
	return principal(r).PersonID.String() + "/" + strings.TrimSpace(postedForm(r).Get(keyField))
}
