package messages

import (
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/internal/store"
)

func catalogue(t *testing.T) *Catalogue {
	t.Helper()
	c, err := Load("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// london is the programme's zone, for writing instants in tests as people
// would read them.
func london(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const trickyName = "O'Brien <script>alert(1)</script>"

// sample is what a sender would fill for each key: a session in October
// 2021 (BST), a checkpoint in November (GMT), a participant with a name
// that must be escaped in HTML.
func sample(t *testing.T, key string) Data {
	d := Data{
		RecipientGivenName: trickyName,
		IntakeName:         "Cohort 1",
		IntakeStartsOn:     london(t, "2021-10-01 00:00"),
		RespondBy:          london(t, "2021-09-20 17:00"),
		Link:               "https://infuse.example.org/journeys/abc?tab=1&x=2",
	}
	switch {
	case strings.HasPrefix(key, "session-"):
		d.ItemID = "adaption-lab/2"
		d.ItemStartsAt = london(t, "2021-10-12 10:00")
		d.ItemEndsAt = london(t, "2021-10-12 13:00")
	case strings.HasPrefix(key, "checkpoint-"):
		d.ItemID = "checkpoint/3"
		d.ItemStartsAt = london(t, "2021-11-16 17:00")
		d.ItemEndsAt = d.ItemStartsAt
		d.RecipientGivenName = "Megan"
		d.ParticipantName = "Rhys Morgan"
		d.CoachName = "Gareth Price"
	case key == "plan-reminder":
		d.ItemID = "plan"
		d.ItemStartsAt = london(t, "2022-01-07 17:00")
		d.ItemEndsAt = d.ItemStartsAt
	case key == "reflection-reminder":
		d.ItemID = "reflection"
		d.ItemStartsAt = london(t, "2022-03-31 17:00")
		d.ItemEndsAt = d.ItemStartsAt
	case key == NonCompletion:
		d.Unmet = []string{"lab-attendance", "reflection"}
	}
	return d
}

// expected holds words each key's message must carry in each language: the
// facts Data gave it, written the way that language writes them.
var expected = map[string]struct{ cy, en []string }{
	"offer": {
		cy: []string{"Cynnig lle ar Infuse", "Carfan: Cohort 1", "Yn dechrau: Dydd Gwener 1 Hydref 2021", "erbyn: Dydd Llun 20 Medi 2021 am 17:00"},
		en: []string{"Offer of a place on Infuse", "Cohort: Cohort 1", "Starts: Friday 1 October 2021", "by: Monday 20 September 2021 at 17:00"},
	},
	"offer-reminder": {
		cy: []string{"Nodyn atgoffa", "Dydd Llun 20 Medi 2021 am 17:00"},
		en: []string{"Reminder", "Monday 20 September 2021 at 17:00"},
	},
	"session-reminder-week": {
		cy: []string{"Sesiwn: Labordy Addasu, sesiwn 2", "Pryd: Dydd Mawrth 12 Hydref 2021 am 10:00 tan 13:00"},
		en: []string{"Session: Adaption Lab, session 2", "When: Tuesday 12 October 2021 at 10:00 until 13:00"},
	},
	"session-reminder-day": {
		cy: []string{"Labordy Addasu, sesiwn 2", "Dydd Mawrth 12 Hydref 2021 am 10:00"},
		en: []string{"Adaption Lab, session 2", "Tuesday 12 October 2021 at 10:00"},
	},
	"session-absence": {
		cy: []string{"Sesiwn a fethwyd", "Labordy Addasu, sesiwn 2"},
		en: []string{"Missed session", "Adaption Lab, session 2"},
	},
	"session-cancelled": {
		cy: []string{"wedi'i chanslo", "Dydd Mawrth 12 Hydref 2021 am 10:00"},
		en: []string{"cancelled", "Tuesday 12 October 2021 at 10:00"},
	},
	"plan-reminder": {
		cy: []string{"Tasg: Cynllun arbrofi", "Erbyn: Dydd Gwener 7 Ionawr 2022 am 17:00"},
		en: []string{"Task: Experiment plan", "Due: Friday 7 January 2022 at 17:00"},
	},
	"checkpoint-reminder": {
		cy: []string{"Cyfranogwr: Rhys Morgan", "Pwynt gwirio hyfforddi 3", "Erbyn: Dydd Mawrth 16 Tachwedd 2021 am 17:00"},
		en: []string{"Participant: Rhys Morgan", "Coaching checkpoint 3", "Due: Tuesday 16 November 2021 at 17:00"},
	},
	"checkpoint-overdue-coach": {
		cy: []string{"Yn hwyr", "Cyfranogwr: Rhys Morgan", "Roedd yn ddyledus: Dydd Mawrth 16 Tachwedd 2021 am 17:00"},
		en: []string{"Overdue", "Participant: Rhys Morgan", "Was due: Tuesday 16 November 2021 at 17:00"},
	},
	"checkpoint-overdue-coordinator": {
		cy: []string{"Cyfranogwr: Rhys Morgan", "Hyfforddwr: Gareth Price", "Carfan: Cohort 1"},
		en: []string{"Participant: Rhys Morgan", "Coach: Gareth Price", "Cohort: Cohort 1"},
	},
	"reflection-reminder": {
		cy: []string{"Tasg: Myfyrdod terfynol", "Erbyn: Dydd Iau 31 Mawrth 2022 am 17:00"},
		en: []string{"Task: Final reflection", "Due: Thursday 31 March 2022 at 17:00"},
	},
	"intake-started": {
		cy: []string{"Croeso i Infuse", "- Labordy Addasu\n- Labordy Caffael\n- Labordy Data"},
		en: []string{"Welcome to Infuse", "- Adaption Lab\n- Procurement Lab\n- Data Lab"},
	},
	"application-unsuccessful": {
		cy: []string{"Eich cais i Infuse", "na allwn gynnig lle i chi"},
		en: []string{"Your application to Infuse", "cannot offer you a place"},
	},
	"completion": {
		cy: []string{"Llongyfarchiadau", "cwblhau Infuse"},
		en: []string{"Congratulations", "completed Infuse"},
	},
	"non-completion": {
		cy: []string{"- presenoldeb mewn o leiaf 75% o sesiynau'r labordai\n- myfyrdod terfynol wedi'i gyflwyno"},
		en: []string{"- attendance at 75% or more of the lab sessions\n- a submitted final reflection"},
	},
}

// Words that mark a section as Welsh or English: the greeting and the
// Welsh Language Standards statement each section ends with.
var (
	welshMarks   = []string{"Annwyl ", "Rydym yn croesawu gohebiaeth yn Gymraeg", "Tîm Infuse"}
	englishMarks = []string{"Dear ", "We welcome correspondence in Welsh", "The Infuse team"}
)

func TestEveryKeyHasExpectations(t *testing.T) {
	for _, key := range catalogue(t).Keys() {
		if _, ok := expected[key]; !ok {
			t.Errorf("no test expectations for %q", key)
		}
	}
}

func TestRenderWelshOnly(t *testing.T) {
	c := catalogue(t)
	for key, want := range expected {
		r := render(t, c, key, store.LanguageWelsh)
		if r.Language != "cy" || !strings.Contains(r.HTML, `<html lang="cy">`) {
			t.Errorf("%s: language %q, HTML not marked Welsh", key, r.Language)
		}
		containsAll(t, key+" cy", r.Subject+"\n"+r.Text, want.cy)
		containsAll(t, key+" cy", r.Text, welshMarks)
		containsNone(t, key+" cy", r.Subject+r.Text+r.HTML, englishMarks)
	}
}

func TestRenderEnglishOnly(t *testing.T) {
	c := catalogue(t)
	for key, want := range expected {
		r := render(t, c, key, store.LanguageEnglish)
		if r.Language != "en" || !strings.Contains(r.HTML, `<html lang="en">`) {
			t.Errorf("%s: language %q, HTML not marked English", key, r.Language)
		}
		containsAll(t, key+" en", r.Subject+"\n"+r.Text, want.en)
		containsAll(t, key+" en", r.Text, englishMarks)
		containsNone(t, key+" en", r.Subject+r.Text+r.HTML, welshMarks)
	}
}

// With no recorded preference the message is bilingual and Welsh comes
// first everywhere: subject, text and HTML.
func TestRenderBilingualWelshFirst(t *testing.T) {
	c := catalogue(t)
	for key, want := range expected {
		r := render(t, c, key, store.LanguageUnknown)
		cy := render(t, c, key, store.LanguageWelsh)
		en := render(t, c, key, store.LanguageEnglish)
		if r.Language != "cy, en" {
			t.Errorf("%s: language %q, want \"cy, en\"", key, r.Language)
		}
		if r.Subject != cy.Subject+" / "+en.Subject {
			t.Errorf("%s: subject %q, want Welsh / English", key, r.Subject)
		}
		if r.Text != strings.TrimSuffix(cy.Text, "\n")+separator+en.Text {
			t.Errorf("%s: bilingual text is not the Welsh message, a separator, then the English message:\n%s", key, r.Text)
		}
		welsh, english, ok := strings.Cut(r.Text, strings.TrimSpace(separator))
		if !ok {
			t.Fatalf("%s: no separator between the sections:\n%s", key, r.Text)
		}
		containsAll(t, key+" bilingual Welsh section", cy.Subject+"\n"+welsh, append(want.cy, welshMarks...))
		containsNone(t, key+" bilingual Welsh section", welsh, englishMarks)
		containsAll(t, key+" bilingual English section", en.Subject+"\n"+english, append(want.en, englishMarks...))
		containsNone(t, key+" bilingual English section", english, welshMarks)
		if strings.Index(r.HTML, `<div lang="cy">`) > strings.Index(r.HTML, `<div lang="en">`) ||
			!strings.Contains(r.HTML, "<hr>") {
			t.Errorf("%s: HTML sections not Welsh then English:\n%s", key, r.HTML)
		}
	}
}

func render(t *testing.T, c *Catalogue, key string, lang store.Language) Rendered {
	t.Helper()
	r, err := c.Render(key, lang, sample(t, key))
	if err != nil {
		t.Fatalf("%s (%q): %v", key, lang, err)
	}
	if r.Subject == "" || r.Text == "" || r.HTML == "" {
		t.Fatalf("%s (%q): empty part: %+v", key, lang, r)
	}
	if strings.Contains(r.Text+r.HTML, "<no value>") || strings.ContainsAny(r.Subject, "\r\n") {
		t.Fatalf("%s (%q): unfilled value or multi-line subject: %+v", key, lang, r)
	}
	return r
}

func containsAll(t *testing.T, what, s string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, s)
		}
	}
}

func containsNone(t *testing.T, what, s string, unwanted []string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(s, w) {
			t.Errorf("%s: has %q, which belongs to the other language", what, w)
		}
	}
}

// A coach's message names the participant it is about, in the subject and
// the body, and greets the coach.
func TestCoachMessageNamesTheParticipant(t *testing.T) {
	r := render(t, catalogue(t), "checkpoint-reminder", store.LanguageEnglish)
	containsAll(t, "subject", r.Subject, []string{"Rhys Morgan", "Coaching checkpoint 3"})
	containsAll(t, "text", r.Text, []string{"Dear Megan,", "Participant: Rhys Morgan"})
	containsAll(t, "html", r.HTML, []string{"Participant: Rhys Morgan"})
}

func TestHTMLEscapesValues(t *testing.T) {
	c := catalogue(t)
	for _, key := range c.Keys() {
		d := sample(t, key)
		d.RecipientGivenName, d.ParticipantName = trickyName, trickyName
		r, err := c.Render(key, store.LanguageUnknown, d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.HTML, "<script") || strings.Contains(r.HTML, "O'Brien") {
			t.Errorf("%s: HTML carries the name unescaped:\n%s", key, r.HTML)
		}
		if !strings.Contains(r.HTML, "O&#39;Brien &lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: HTML lacks the escaped name:\n%s", key, r.HTML)
		}
		// The text part is plain text: the name exactly as the person wrote it.
		if !strings.Contains(r.Text, trickyName) {
			t.Errorf("%s: text part altered the name", key)
		}
		if !strings.Contains(r.HTML, `<a href="https://infuse.example.org/journeys/abc?tab=1&amp;x=2">`) {
			t.Errorf("%s: link missing or unescaped in HTML:\n%s", key, r.HTML)
		}
	}
}

func TestSubjectStaysOneLine(t *testing.T) {
	d := sample(t, "checkpoint-reminder")
	d.ParticipantName = "Rhys\r\nBcc: everyone@example.org"
	r, err := catalogue(t).Render("checkpoint-reminder", store.LanguageEnglish, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject has a line break: %q", r.Subject)
	}
}

func TestLinkIsLeftOutUntilThereIsOne(t *testing.T) {
	d := sample(t, Offer)
	d.Link = ""
	r, err := catalogue(t).Render(Offer, store.LanguageUnknown, d)
	if err != nil {
		t.Fatal(err)
	}
	containsNone(t, "no link", r.Text+r.HTML, []string{"More details", "Rhagor o fanylion", "<a "})
}

func TestRenderRefuses(t *testing.T) {
	c := catalogue(t)
	cases := map[string]struct {
		key  string
		lang store.Language
		edit func(*Data)
		want string
	}{
		"unknown key":        {"ofer", store.LanguageWelsh, nil, `no template "ofer"`},
		"unknown language":   {Offer, "fr", nil, `language "fr"`},
		"javascript link":    {Offer, store.LanguageEnglish, func(d *Data) { d.Link = "javascript:alert(1)" }, "not an http or https address"},
		"unknown criterion":  {NonCompletion, store.LanguageWelsh, func(d *Data) { d.Unmet = []string{"showcase"} }, `criterion "showcase"`},
		"relative link path": {Offer, store.LanguageEnglish, func(d *Data) { d.Link = "/journeys/1" }, "not an http or https address"},
	}
	for name, tc := range cases {
		d := sample(t, tc.key)
		if tc.edit != nil {
			tc.edit(&d)
		}
		if _, err := c.Render(tc.key, tc.lang, d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, tc.want)
		}
	}
}
