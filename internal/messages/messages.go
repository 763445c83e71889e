// Package messages turns a queued message (a template key and a recipient)
// into the words a person reads, in Welsh, English or both.
//
// It exists because the Welsh Language Standards decide the language of
// every message, and because a missing or broken translation must stop a
// release, not surprise a participant months into their journey. So the
// templates are programme data (programme/programmes/messages/, one file
// per programme version, beside the programme they belong to), and Load
// checks them all when it reads them: every template key the programme's
// reminder rules use and every fixed notice must have a subject and a body
// in both languages that parse and render.
//
// Workflows never see any of this: they queue a template key and IDs; the
// sender reads the store at send time, fills a Data, and calls Render.
package messages

import (
	"fmt"
	"sync"
	"time"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Keys of the fixed notices journeys send whatever the programme's reminder
// rules say; the workflows name them by these constants, and every
// catalogue must have them (NoticeKeys). Reminder template keys come from
// the programme data instead.
const (
	Offer                   = "offer"
	IntakeStarted           = "intake-started"
	ApplicationUnsuccessful = "application-unsuccessful"
	Completion              = "completion"
	NonCompletion           = "non-completion"
	SessionCancelled        = "session-cancelled" // sent with a calendar CANCEL
)

// NoticeKeys lists the fixed notices; every catalogue must have them.
func NoticeKeys() []string {
	return []string{Offer, IntakeStarted, ApplicationUnsuccessful, Completion, NonCompletion, SessionCancelled}
}

// Data is what a message may say, filled by the sender from the store at
// send time. Only Render sees it, so personal data stays out of Temporal.
// Times are instants; Render writes them out in the programme's time zone
// (Europe/London) in each language.
type Data struct {
	RecipientGivenName string // "Dear Megan,"; may be empty
	ParticipantName    string // who a coach or coordinator message is about
	CoachName          string // the participant's coach, for escalations to coordinators
	IntakeName         string // e.g. "Cohort 1"
	IntakeStartsOn     time.Time

	// ItemID is the schedule item the message is about ("data-lab/2",
	// "checkpoint/3"); its lab or task name comes from the programme, so
	// the name always matches the catalogue's programme version.
	ItemID       string
	ItemStartsAt time.Time // a session's start
	ItemEndsAt   time.Time // a session's end, or a task's due time

	RespondBy time.Time // when an offer lapses

	// Unmet holds the completion criteria codes a participant did not meet
	// ("lab-attendance", "checkpoints", "reflection").
	Unmet []string

	// Link is the web page the message is about. Empty until the web pages
	// exist; templates then leave the link out. Only http and https.
	Link string
}

// Rendered is one message ready to send.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	// Language is the message's Content-Language: "cy", "en", or "cy, en"
	// for a bilingual message (Welsh first).
	Language string
}

// Catalogue is the checked templates of one programme version. It is
// read-only after loading and safe for concurrent use.
type Catalogue struct {
	prog      *programme.Programme
	templates map[string]map[store.Language]*compiled
	criteria  map[string]map[store.Language]string
}

// Programme is the programme version the catalogue belongs to.
func (c *Catalogue) Programme() *programme.Programme { return c.prog }

// Keys lists the catalogue's template keys, sorted.
func (c *Catalogue) Keys() []string { return sortedKeys(c.templates) }

type cacheKey struct {
	id      string
	version int
}

var (
	cacheMu sync.Mutex
	cache   = map[cacheKey]*Catalogue{}
)

// Load returns the embedded catalogue of a programme version, checked
// against that version. Catalogues are parsed once and shared; an error is
// not cached, so it is reported every time it is asked for.
func Load(programmeID string, version int) (*Catalogue, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if c, ok := cache[cacheKey{programmeID, version}]; ok {
		return c, nil
	}
	p, err := programme.Lookup(programmeID, version)
	if err != nil {
		return nil, err
	}
	data, err := programme.MessageTemplates(programmeID, version)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, p)
	if err != nil {
		return nil, fmt.Errorf("programme/programmes/messages/%s-v%d.yaml: %w", programmeID, version, err)
	}
	cache[cacheKey{programmeID, version}] = c
	return c, nil
}
