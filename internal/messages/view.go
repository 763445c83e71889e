package messages

import (
	"fmt"
	"strings"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// view is Data as one language sees it: names picked, dates written out,
// criteria described. Templates only ever see strings, so how a date or a
// name is written is decided here once, not in every template.
type view struct {
	RecipientGivenName string
	ParticipantName    string
	CoachName          string
	IntakeName         string
	IntakeStartsOn     string
	RespondBy          string
	Programme          string
	ItemName           string
	Number             string
	StartsAt           string
	EndsAt             string
	EndsTime           string
	DueAt              string
	Labs               []string
	Unmet              []string
	Link               string
}

func (c *Catalogue) view(lang store.Language, d Data) (view, error) {
	loc := c.prog.Location()
	unmet, err := c.describe(d.Unmet, lang)
	if err != nil {
		return view{}, err
	}
	item, _ := c.prog.ItemName(d.ItemID) // no name for items that are not a lab or task, such as "offer"
	return view{
		// Names on one line each: the store refuses line breaks in them,
		// and a message does not rely on it (a break would split a line
		// of the HTML, or a subject's header).
		RecipientGivenName: oneLine(d.RecipientGivenName),
		ParticipantName:    oneLine(d.ParticipantName),
		CoachName:          oneLine(d.CoachName),
		IntakeName:         oneLine(d.IntakeName),
		IntakeStartsOn:     formatDate(d.IntakeStartsOn, loc, lang),
		RespondBy:          formatDateTime(d.RespondBy, loc, lang),
		Programme:          in(c.prog.Name, lang),
		ItemName:           in(item, lang),
		Number:             itemNumber(d.ItemID),
		StartsAt:           formatDateTime(d.ItemStartsAt, loc, lang),
		EndsAt:             formatDateTime(d.ItemEndsAt, loc, lang),
		EndsTime:           formatEnd(d.ItemStartsAt, d.ItemEndsAt, loc, lang),
		DueAt:              formatDateTime(d.ItemEndsAt, loc, lang),
		Labs:               c.labNames(lang),
		Unmet:              unmet,
		Link:               d.Link,
	}, nil
}

func in(t programme.Text, lang store.Language) string {
	if lang == store.LanguageWelsh {
		return t.CY
	}
	return t.EN
}

// itemNumber is the number of an item in a series ("data-lab/2" → "2").
func itemNumber(id string) string {
	_, n, ok := strings.Cut(id, "/")
	if !ok || strings.Trim(n, "0123456789") != "" {
		return ""
	}
	return n
}

func (c *Catalogue) labNames(lang store.Language) []string {
	names := make([]string, len(c.prog.Labs))
	for i, l := range c.prog.Labs {
		names[i] = in(l.Name, lang)
	}
	return names
}

// describe words the unmet completion criteria; an unknown code is an
// error rather than a participant being shown a code.
func (c *Catalogue) describe(codes []string, lang store.Language) ([]string, error) {
	var out []string
	for _, code := range codes {
		s, ok := c.criteria[code][lang]
		if !ok {
			return nil, fmt.Errorf("no description of completion criterion %q: add it under criteria", code)
		}
		out = append(out, s)
	}
	return out, nil
}
