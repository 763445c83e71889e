package delivery

import (
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Policy applies the delivery section of each message's programme (see
// programme.Delivery) before the Deliverer sends it. It is programme data,
// not configuration: the programme is the one pinned by the message's
// intake.
//
// Quiet hours: while it is outside the programme's working time (nights,
// non-working days, England & Wales bank holidays, closures, all in the
// programme's time zone), a due message is deferred (store.Defer) to the
// opening of the next working window, e.g. Friday 18:00 → Monday 09:00.
//
// Daily cap: one person gets at most MaxPerPersonPerDay e-mails on one local
// day, counted from the outbox (distinct Message-IDs sent since local
// midnight, so a digest counts once). When more are due at once than the day
// has room for, the first go individually and the rest are folded into one
// digest e-mail, sent as the day's last; each folded message is marked sent
// with the digest's Message-ID, so nothing is lost and nothing goes twice.
// Messages that fall due once the day's cap is reached are deferred to the
// next working window. A message with attachments (a calendar invite or
// cancellation) is never folded: it goes individually and counts towards
// the cap; if the day has no individual room left for it, it waits for the
// next working window.
//
// A person whose due messages belong to intakes of different programmes
// gets the smallest cap among them, counted over the local day of the first
// message's programme.
//
// The count holds with several Deliverers: one serves a person at a time
// (store.ClaimDue claims whole recipients), and a Deliverer marks what it
// sent before its claim ends, so the next one to serve them counts it.
type Policy struct {
	store SentLog

	mu       sync.Mutex
	byIntake map[uuid.UUID]*programme.Programme
}

// SentLog is the store as a Policy reads it: the programme an intake
// pinned, and how many e-mails a person has been sent in a day.
type SentLog interface {
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	SentEmails(ctx context.Context, recipient uuid.UUID, from, to time.Time) (int, error)
}

// NewPolicy returns a Policy reading intakes and the sent outbox from st.
// Give it to the Deliverer in Options.Policy.
func NewPolicy(st SentLog) *Policy {
	return &Policy{store: st, byIntake: map[uuid.UUID]*programme.Programme{}}
}

// programmeOf looks up (once per intake) the programme version an intake pinned.
func (p *Policy) programmeOf(ctx context.Context, intakeID uuid.UUID) (*programme.Programme, error) {
	p.mu.Lock()
	prog, ok := p.byIntake[intakeID]
	p.mu.Unlock()
	if ok {
		return prog, nil
	}
	in, err := p.store.GetIntake(ctx, intakeID)
	if err != nil {
		return nil, fmt.Errorf("reading intake %s for its delivery policy: %w", intakeID, err)
	}
	prog, err = programme.Lookup(in.ProgrammeID, in.ProgrammeVersion)
	if err != nil {
		return nil, fmt.Errorf("delivery policy of intake %s: %w", intakeID, err)
	}
	p.mu.Lock()
	p.byIntake[intakeID] = prog
	p.mu.Unlock()
	return prog, nil
}

// hold is a message the policy keeps back until a later time.
type hold struct {
	m     store.Message
	until time.Time
}

// verdict is what the policy says about one recipient's due messages.
type verdict struct {
	held []hold          // deferred now (quiet hours, or the day's cap reached)
	send []store.Message // may go now, in order
	// room is how many e-mails may still go today; -1 means no cap.
	room int
	// nextWindow is when messages over today's cap may go: the opening of
	// the next working window after today.
	nextWindow time.Time
}

// judge applies quiet hours and counts the day's room for one recipient's
// due messages q (in order) at now.
func (p *Policy) judge(ctx context.Context, now time.Time, q []store.Message) (verdict, error) {
	v := verdict{room: -1}
	var capProg *programme.Programme // whose day the cap is counted over
	limit := 0
	for _, m := range q {
		prog, err := p.programmeOf(ctx, m.IntakeID)
		if err != nil {
			return verdict{}, err
		}
		pol := prog.Delivery
		if pol == nil {
			v.send = append(v.send, m)
			continue
		}
		if pol.QuietOutsideWorkingHours && !prog.IsWorkingTime(now) {
			v.held = append(v.held, hold{m, prog.NextWorkingTime(now)})
			continue
		}
		v.send = append(v.send, m)
		if capProg == nil || pol.MaxPerPersonPerDay < limit {
			if capProg == nil {
				capProg = prog
			}
			limit = pol.MaxPerPersonPerDay
		}
	}
	if capProg == nil || len(v.send) == 0 {
		return v, nil
	}
	loc := capProg.Location()
	y, mo, d := now.In(loc).Date()
	dayStart, dayEnd := time.Date(y, mo, d, 0, 0, 0, 0, loc), time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
	sent, err := p.store.SentEmails(ctx, q[0].RecipientID, dayStart, dayEnd)
	if err != nil {
		return verdict{}, err
	}
	v.room = max(limit-sent, 0)
	v.nextWindow = capProg.NextWorkingTime(dayEnd)
	if v.room == 0 {
		for _, m := range v.send {
			v.held = append(v.held, hold{m, v.nextWindow})
		}
		v.send = nil
	}
	return v, nil
}

// composed is a due message rendered and ready to send.
type composed struct {
	m store.Message
	e Email
}

// fold splits the messages ready to go (in order) between those sent
// individually (in order), those folded into one digest (in order) and
// those that wait for the next working window, for a day with room
// e-mails left (len(ready) > room >= 1). Messages with attachments are
// never folded; the digest takes the last slot and is only made of two or
// more messages.
func fold(ready []composed, room int) (individual, digest, later []composed) {
	var withAtt, plain []int
	for i, c := range ready {
		if len(c.e.Attachments) > 0 {
			withAtt = append(withAtt, i)
		} else {
			plain = append(plain, i)
		}
	}
	var alone []int // indexes sent individually
	if len(plain) < 2 {
		// Nothing worth a digest: the first room go, the rest wait.
		for i := range ready {
			if i < room {
				individual = append(individual, ready[i])
			} else {
				later = append(later, ready[i])
			}
		}
		return individual, nil, later
	}
	slots := room - 1 // the digest takes the last
	nAtt := min(len(withAtt), slots)
	alone = append(alone, withAtt[:nAtt]...)
	nPlain := slots - nAtt
	alone = append(alone, plain[:nPlain]...)
	slices.Sort(alone)
	for _, i := range alone {
		individual = append(individual, ready[i])
	}
	for _, i := range plain[nPlain:] {
		digest = append(digest, ready[i])
	}
	for _, i := range withAtt[nAtt:] {
		later = append(later, ready[i])
	}
	return individual, digest, later
}

// DigestComposer is a Composer that can also render a digest in the
// recipient's language. Without one, the Deliverer writes a bilingual
// digest, Welsh first.
type DigestComposer interface {
	// ComposeDigest renders one e-mail gathering folded, already rendered
	// as emails (same order). The Deliverer sets MessageID.
	ComposeDigest(ctx context.Context, folded []store.Message, emails []Email) (Email, error)
}

// digestEmail is the default digest: From and To of the first message,
// the header fields all the messages share, a subject and introduction in
// the messages' language (Welsh only, English only, or both with Welsh
// first when they are bilingual or differ), the list of subjects, then each
// message's text in full (as plain text, and the same text escaped as HTML).
func digestEmail(emails []Email) Email {
	n := len(emails)
	first := emails[0]
	e := Email{From: first.From, To: first.To}
	for k, v := range first.Headers {
		shared := true
		for _, o := range emails[1:] {
			if o.Headers[k] != v {
				shared = false
				break
			}
		}
		if shared {
			if e.Headers == nil {
				e.Headers = map[string]string{}
			}
			e.Headers[k] = v
		}
	}
	cy := fmt.Sprintf("Mae gennych %d neges heddiw. Rydym wedi eu casglu mewn un e-bost, fel nad ydych yn cael gormod o negeseuon mewn diwrnod.\n", n)
	en := fmt.Sprintf("You have %d messages today. We have gathered them into one e-mail, so that you do not get too many in one day.\n", n)
	var b strings.Builder
	switch e.Headers["Content-Language"] {
	case "cy":
		e.Subject = fmt.Sprintf("Crynodeb: %d neges", n)
		b.WriteString(cy + "\n")
	case "en":
		e.Subject = fmt.Sprintf("Digest: %d messages", n)
		b.WriteString(en + "\n")
	default:
		e.Subject = fmt.Sprintf("Crynodeb: %d neges | Digest: %d messages", n, n)
		b.WriteString(cy + en + "\n")
	}
	for i, m := range emails {
		fmt.Fprintf(&b, "%d. %s\n", i+1, m.Subject)
	}
	for i, m := range emails {
		fmt.Fprintf(&b, "\n----------------------------------------\n%d. %s\n\n", i+1, m.Subject)
		text := m.Text
		if text == "" {
			text = htmlToText(m.HTML)
		}
		b.WriteString(strings.TrimSpace(text))
		b.WriteString("\n")
	}
	e.Text = b.String()
	e.HTML = `<div style="white-space: pre-wrap">` + html.EscapeString(e.Text) + `</div>`
	return e
}

// htmlToText is a crude rendering of an HTML-only body for the digest:
// tags dropped, entities for the five special characters decoded.
func htmlToText(h string) string {
	var b strings.Builder
	in := false
	for _, r := range h {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&").Replace(b.String())
}

// deliverByPolicy is deliverQueue under a Policy: quiet hours and a full day
// defer messages, and more due than the day has room for are partly folded
// into a digest.
func (d *Deliverer) deliverByPolicy(ctx context.Context, q []store.Message) (Stats, error) {
	var st Stats
	v, err := d.o.Policy.judge(ctx, d.o.Now(), q)
	if err != nil {
		return st, err
	}
	for _, h := range v.held {
		if err := d.hold(ctx, h.m, h.until); err != nil {
			return st, err
		}
		st.Deferred++
	}
	if v.room < 0 || len(v.send) <= v.room {
		s, err := d.sendEach(ctx, v.send)
		st.Add(s)
		return st, err
	}
	// More than the day has room for: render them all first, to know
	// which carry attachments and so cannot be folded.
	var rd []composed
compose:
	for _, m := range v.send {
		e, out, err := d.compose(ctx, m)
		st.count(out, 1)
		if err != nil {
			return st, err
		}
		switch out {
		case ready:
			rd = append(rd, composed{m, e})
		case stopped:
			return st, nil
		case retried:
			break compose // later ones wait behind it
		}
	}
	individual, digest, later := rd, []composed(nil), []composed(nil)
	if len(rd) > v.room {
		individual, digest, later = fold(rd, v.room)
	}
	for _, c := range later {
		if err := d.hold(ctx, c.m, v.nextWindow); err != nil {
			return st, err
		}
		st.Deferred++
	}
	for _, c := range individual {
		out, err := d.send(ctx, c.m, c.e)
		st.count(out, 1)
		if err != nil || out.holdsBack() {
			return st, err // the digest waits too
		}
	}
	if len(digest) > 0 {
		s, err := d.sendDigest(ctx, digest)
		st.Add(s)
		return st, err
	}
	return st, nil
}

// hold defers m to until for the Policy.
func (d *Deliverer) hold(ctx context.Context, m store.Message, until time.Time) error {
	if err := d.store.Defer(ctx, d.owner, m.Key, until); err != nil {
		return fmt.Errorf("deferring message %q: %w", m.Key, err)
	}
	d.logger(m).Debug("held back by the delivery policy", zap.Time("until", until))
	return nil
}

// sendDigest sends folded (two or more messages to one recipient, rendered)
// as one e-mail and marks each sent with the digest's Message-ID, derived
// from the first folded message's key. A failure is each message's: all are
// retried, or all fail, together (a server out of reach is none of theirs:
// all wait for it, charged nothing). As with a single message, a crash
// between sending and marking sends the digest again on the next pass
// (possibly gathering a different set, and then with a different
// Message-ID if the first one was marked).
func (d *Deliverer) sendDigest(ctx context.Context, folded []composed) (Stats, error) {
	var st Stats
	msgs := make([]store.Message, len(folded))
	emails := make([]Email, len(folded))
	for i, c := range folded {
		msgs[i], emails[i] = c.m, c.e
	}
	e := digestEmail(emails)
	if dc, ok := d.composer.(DigestComposer); ok {
		got, err := dc.ComposeDigest(ctx, msgs, emails)
		switch {
		case err == nil:
			e = got
		case ctx.Err() != nil:
			return st, nil
		default: // the bilingual digest still carries every message
			d.o.Logger.Warn("composing a digest failed; sending the bilingual one", zap.Stringer("recipient", msgs[0].RecipientID), zap.Error(err))
		}
	}
	e.MessageID = MessageID("digest/"+msgs[0].Key, d.o.MessageIDDomain)
	// One claim took them all: the first message's claim is every one's.
	out, err := d.transmit(ctx, msgs[0], e)
	switch out {
	case sent:
		st.Sent, st.Folded = len(msgs), len(msgs)
		keys := make([]string, len(msgs))
		for i, m := range msgs {
			keys[i] = m.Key
		}
		if err := d.markSent(ctx, keys, e.MessageID); err != nil {
			return st, fmt.Errorf("digest %s: %w", e.MessageID, err)
		}
		d.o.Logger.Debug("sent a digest", zap.Stringer("recipient", msgs[0].RecipientID), zap.Int("messages", len(msgs)), zap.String("message_id", e.MessageID))
		return st, nil
	case waiting:
		st.Unreachable++ // one try of the server, carrying them all
		return st, nil
	case stopped:
		return st, nil
	}
	var de *Error
	permanent := errors.As(err, &de) && !de.Temporary
	for _, m := range msgs {
		var out outcome
		var merr error
		if permanent {
			out, merr = d.fail(ctx, d.logger(m), m, fmt.Sprintf("the mail server refused the digest carrying this message: %v", err))
		} else {
			out, merr = d.retry(ctx, d.logger(m), m, fmt.Sprintf("sending the digest carrying this message: %v", err))
		}
		st.count(out, 1)
		if merr != nil {
			return st, merr
		}
	}
	return st, nil
}
