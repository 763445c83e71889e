package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Lang is a page language: Welsh or English. The Welsh Language Standards
// ask that Welsh is offered no less favourably than English, so every
// string exists in both and a visitor whose browser prefers Welsh gets it
// without asking.
type Lang string

const (
	Welsh   Lang = "cy"
	English Lang = "en"
)

// langCookie remembers the language a visitor chose with the toggle.
const langCookie = "lang"

// langCookieAge is a year: a choice of language should outlive sessions.
const langCookieAge = 365 * 24 * 60 * 60

// other is the language the toggle switches to.
func (l Lang) other() Lang {
	if l == Welsh {
		return English
	}
	return Welsh
}

func parseLang(s string) (Lang, bool) {
	switch Lang(strings.ToLower(strings.TrimSpace(s))) {
	case Welsh:
		return Welsh, true
	case English:
		return English, true
	}
	return "", false
}

// pageLang is the language of r's page: the visitor's remembered choice,
// else Welsh if their browser ranks Welsh above English, else English.
func pageLang(r *http.Request) Lang {
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(c.Value); ok {
			return l
		}
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

// acceptLang reads an Accept-Language header ("cy-GB,cy;q=0.9,en;q=0.8"):
// Welsh if the browser ranks any Welsh above any English (an equal
// weight goes to whichever it lists first), else English.
func acceptLang(header string) Lang {
	best := map[Lang]float64{Welsh: -1, English: -1}
	first := Lang("")
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		l, ok := parseLang(base)
		if !ok {
			continue
		}
		q := 1.0
		if v, found := strings.CutPrefix(strings.TrimSpace(params), "q="); found {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q <= 0 {
			continue // "not acceptable"
		}
		if q > best[l] {
			best[l] = q
		}
		if first == "" {
			first = l
		}
	}
	if best[Welsh] > best[English] || (best[Welsh] == best[English] && first == Welsh) {
		return Welsh
	}
	return English
}

// T is the text of a catalogue key in l. A missing key shows as the key
// itself, so a gap is visible on the page (and the catalogue test fails).
func (l Lang) T(key string) string {
	t, ok := catalogue[key]
	if !ok {
		return key
	}
	if l == Welsh {
		return t.cy
	}
	return t.en
}

// TOr is the text of key if the catalogue has it, else fallback: for
// values (event types, states) that may be newer than the catalogue.
func (l Lang) TOr(key, fallback string) string {
	if _, ok := catalogue[key]; !ok {
		return fallback
	}
	return l.T(key)
}

// Day writes a date in Europe/London as people write it: "5 October
// 2027", "5 Hydref 2027". A zero time is "".
func (l Lang) Day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(programme.London)
	return strconv.Itoa(t.Day()) + " " + messages.MonthName(t.Month(), store.Language(l)) + " " + strconv.Itoa(t.Year())
}

// When adds the 24-hour clock time, local to Europe/London on both sides
// of the clock change: "5 October 2027, 10:00".
func (l Lang) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return l.Day(t) + ", " + t.In(programme.London).Format("15:04")
}

// Item names a schedule item ("checkpoint/2") as programme p does:
// "Coaching checkpoint 2", "Pwynt gwirio hyfforddi 2". p is the version
// the journey or intake pinned (page.Item), so a later version's new
// names do not rename what a journey already has; nil means the newest
// version. Unknown items show their ID.
func (l Lang) Item(p *programme.Programme, id string) string {
	if id == "" {
		return ""
	}
	if p == nil {
		var err error
		if p, err = programme.Latest(programme.DefaultID); err != nil {
			return id
		}
	}
	name, ok := p.ItemName(id)
	if !ok {
		return id
	}
	text := name.EN
	if l == Welsh {
		text = name.CY
	}
	if _, n, numbered := strings.Cut(id, "/"); numbered {
		text += " " + n
	}
	return text
}

// Session names a lab session with its start, "Adaption Lab 2 — 9
// December 2026, 10:00"; its name alone when the start is not known.
func (l Lang) Session(p *programme.Programme, id string, startsAt time.Time) string {
	if startsAt.IsZero() {
		return l.Item(p, id)
	}
	return l.Item(p, id) + " — " + l.When(startsAt)
}

// State names a journey state ("in_labs") in l.
func (l Lang) State(s contract.Status) string { return l.TOr("state."+string(s), string(s)) }

// Event names a timeline event ("checkpoint.completed") in l.
func (l Lang) Event(s string) string { return l.TOr("event."+s, s) }

// Group names a local authority or theme of a report in l ("Cardiff",
// "Caerdydd"); one the catalogue does not know shows as it is.
func (l Lang) Group(name string) string { return l.TOr("group."+name, name) }

// Role names a role in l.
func (l Lang) Role(r store.Role) string { return l.TOr("role."+string(r), string(r)) }
