package sqlstore

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/qustavo/dotsql"
)

// The store's SQL lives in queries/*.sql, one named entry per query
// (`-- name: GetPerson`), each written once for both databases. dotsql
// reads the entries; each is a text/template that queryText fills in for
// one dialect, with the column lists of the Scan functions and the few
// spellings the databases do not share.
//
//go:embed queries/*.sql
var queryFiles embed.FS

// Queries are the texts of the named queries, in one dialect. A field's
// name is its entry's name in queries/; loading fails on an entry without
// a field or a field without an entry, so a query cannot be added (or
// misspelt) in one place only.
type Queries struct {
	InsertPerson, GetPerson, FindPersonByEmail, ListPeople, SetLanguage string
	InsertIntake, GetIntake, UpdateIntake, ListIntakes                  string
	InsertNote, GetNote, DeleteNote, NotesOfJourney                     string

	AppendEvent, UpsertJourney, SetIntakeStatus, DeleteJourneys, DeleteJourney string
	LockStream, SetStreamHead, RecordedAs, Refence                             string
	DropQueuedMessages, DropEvents, JourneyEvents, IntakeEvents                string
	// LockForRebuild is PostgreSQL's alone (see events.sql).
	LockForRebuild string `dialect:"postgres"`

	GetJourney, ListJourneys, JourneysOfPerson, JourneysOfCoach, Caseload string
	JourneyOutcomes, IntakeCounts, TallyJourneys, TallyIntakeJourneys     string

	QueueMessage, ListMessages, SentEmails, DueMessages, ClaimCandidates string
	StampClaims, ReleaseClaims, MessageState                             string
	MarkSent, MarkRetry, MarkFailed, DeferMessage, FailMessagesTo        string
	OutboxCounts, OldestDue                                              string
	// LockClaims is PostgreSQL's alone (see outbox.sql).
	LockClaims string `dialect:"postgres"`

	InsertAPIToken, FindAPIToken, TouchAPIToken, APITokensOf string
	RevokeAPIToken, RevokeAPITokensOf, BlankAPITokenNames    string
	// LockLivePerson is PostgreSQL's alone (see access.sql).
	LockLivePerson                                                    string `dialect:"postgres"`
	DeleteExpiredSignInLinks, CountLiveSignInLinks, InsertSignInLink  string
	RedeemSignInLink, DeleteSignInLinksOf                             string
	InsertWebSession, FindWebSession, EndWebSession, WebSessionsOf    string
	EndWebSessionsOf                                                  string
	GetIdempotencyRecord, ClaimIdempotencyKey, CompleteIdempotencyKey string
	ReleaseIdempotencyKey, ForgetIdempotencyRecords, StoredAnswers    string
	DeleteIdempotencyRecordsOf, DeleteIdempotencyRecord               string

	InsertCertificate, CertificateOf, CertificateByCode string
	PersonAddress, BlankPerson, DeleteNotesOf           string
	JourneyCounts, OverdueCheckpoints                   string
}

// dialectText is what a query's template sees: which database it is for,
// the column lists, and the spellings that differ.
type dialectText struct {
	// Postgres is true for PostgreSQL, false for SQLite.
	Postgres bool
	// The column lists, in the order of the Scan functions that read them.
	Person, Intake, Event, Journey, CoachJourney, Message, Note string
	Certificate, APIToken, WebSession, Idempotency              string
	Recorded, Dropped, Claimed                                  string
	// DueAt is the condition of a message o that may be sent at $1.
	DueAt string
}

// Qualified is the column list columns, each named as table's.
func (dialectText) Qualified(table, columns string) string { return qualified(table, columns) }

// Typed is parameter n, given type where PostgreSQL cannot tell it from
// the query (as in `$1 IS NULL`); SQLite's parameters have no type.
func (d dialectText) Typed(n int, typ string) string {
	if d.Postgres {
		return fmt.Sprintf("$%d::%s", n, typ)
	}
	return fmt.Sprintf("$%d", n)
}

// InList holds when column is one of the list that parameter n carries
// (an argument made by List): an array in PostgreSQL, a JSON array in SQLite.
func (d dialectText) InList(column string, n int) string {
	if d.Postgres {
		return fmt.Sprintf("%s = ANY($%d)", column, n)
	}
	return fmt.Sprintf("%s IN (SELECT value FROM json_each($%d))", column, n)
}

// LoadQueries is every query in queries/ for PostgreSQL (postgres) or
// SQLite, read once per process.
func LoadQueries(postgres bool) (*Queries, error) {
	load := sqliteQueries
	if postgres {
		load = postgresQueries
	}
	q, err := load()
	if err != nil {
		return nil, err
	}
	own := *q // a store's own copy: none can change another's
	return &own, nil
}

var (
	postgresQueries = sync.OnceValues(func() (*Queries, error) { return loadEmbedded(true) })
	sqliteQueries   = sync.OnceValues(func() (*Queries, error) { return loadEmbedded(false) })
)

// loadEmbedded reads the queries of queries/.
func loadEmbedded(postgres bool) (*Queries, error) {
	fsys, err := fs.Sub(queryFiles, "queries")
	if err != nil {
		return nil, err
	}
	return loadQueries(fsys, postgres)
}

// loadQueries reads the queries in the *.sql files of fsys.
func loadQueries(fsys fs.FS, postgres bool) (*Queries, error) {
	texts, err := queryTexts(fsys, dialectText{
		Postgres: postgres,
		Person:   PersonColumns, Intake: IntakeColumns, Event: EventColumns,
		Journey: JourneyColumns, CoachJourney: CoachJourneyColumns, Message: MessageColumns, Note: NoteColumns,
		Certificate: CertificateColumns, APIToken: APITokenColumns, WebSession: WebSessionColumns,
		Idempotency: IdempotencyColumns, Recorded: RecordedColumns, Dropped: DroppedColumns, Claimed: ClaimedColumns,
		DueAt: dueWhere,
	})
	if err != nil {
		return nil, err
	}
	q := &Queries{}
	v, t := reflect.ValueOf(q).Elem(), reflect.TypeFor[Queries]()
	for i := range t.NumField() {
		f := t.Field(i)
		text, ok := texts[f.Name]
		if !ok {
			return nil, fmt.Errorf("sqlstore: no query %s in queries/*.sql; add its entry (-- name: %s)", f.Name, f.Name)
		}
		delete(texts, f.Name)
		onlyPostgres := f.Tag.Get("dialect") == "postgres"
		if text == "" && (postgres || !onlyPostgres) {
			return nil, fmt.Errorf("sqlstore: query %s is empty for this database", f.Name)
		}
		v.Field(i).SetString(text)
	}
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		return nil, fmt.Errorf("sqlstore: query %s in queries/*.sql has no field in sqlstore.Queries; add one", name)
	}
	return q, nil
}

// All is every query's text (PostgreSQL's alone are empty on SQLite).
func (q *Queries) All() []string {
	v := reflect.ValueOf(q).Elem()
	out := make([]string, 0, v.NumField())
	for i := range v.NumField() {
		if s := v.Field(i).String(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Recording is the statements Record runs for a new event, which a
// backend may prepare once: every journey's life is a few dozen of them.
func (q *Queries) Recording() []string {
	return []string{q.AppendEvent, q.UpsertJourney, q.SetIntakeStatus, q.QueueMessage, q.LockStream, q.SetStreamHead}
}

// entryName is a dotsql entry's header.
var entryName = regexp.MustCompile(`(?m)^\s*--\s*name:\s*(\S+)`)

// queryTexts reads every entry of the *.sql files of fsys and fills it in
// for d.
func queryTexts(fsys fs.FS, d dialectText) (map[string]string, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	texts := map[string]string{}
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		dot, err := dotsql.Load(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", name, err)
		}
		// dotsql runs two entries of one name together, and drops one
		// with no lines: refuse both.
		entries := entryName.FindAllSubmatch(b, -1)
		seen := map[string]bool{}
		for _, e := range entries {
			entry := string(e[1])
			switch _, loaded := dot.QueryMap()[entry]; {
			case seen[entry]:
				return nil, fmt.Errorf("sqlstore: %s names query %s twice", name, entry)
			case !loaded:
				return nil, fmt.Errorf("sqlstore: %s: query %s is empty", name, entry)
			}
			seen[entry] = true
		}
		filled := dot.WithData(d)
		for _, e := range entries {
			entry := string(e[1])
			if _, ok := texts[entry]; ok {
				return nil, fmt.Errorf("sqlstore: %s: query %s is named in another file too", name, entry)
			}
			text, err := filled.Raw(entry)
			if err != nil {
				return nil, fmt.Errorf("sqlstore: %s: %w", name, err)
			}
			texts[entry] = strings.TrimSpace(withoutComments(text))
		}
	}
	return texts, nil
}

// withoutComments drops the entry's comment lines, which are for its
// reader: the database need not parse them on every statement, and the
// text SQLite's read connections keep their statements under is shorter.
func withoutComments(text string) string {
	lines := strings.Split(text, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
