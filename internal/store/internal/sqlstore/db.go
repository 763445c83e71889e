package sqlstore

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// DB runs statements: a backend's connections, or one of its
// transactions. Arguments are Go values (uuid.UUID, time.Time, bool,
// strings and numbers, nil for NULL) and the JSON and List wrappers; each
// backend encodes them for its database.
type DB interface {
	// Exec runs a statement and reports how many rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a query; the caller closes the rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query for one row, whose Scan reports the query's
	// error, or sql.ErrNoRows when there is no row.
	QueryRow(ctx context.Context, query string, args ...any) Scanner
}

// JSON is the value of a JSON column; nil is NULL.
type JSON []byte

// List is a list of values that one parameter carries, for a query's
// InList: an array in PostgreSQL, a JSON array in SQLite.
type List[T int64 | string] []T

// Elements is the list as a Go slice.
func (l List[T]) Elements() any { return []T(l) }

// ListArg is what a backend sees of a List.
type ListArg interface{ Elements() any }

// MustEncode panics, naming the type, for an argument that is none of
// those DB takes: uuid.UUID, time.Time, JSON and List (which each backend
// encodes), nil, []byte (a BLOB or bytea), and bools, numbers and strings,
// named types of them too (contract.Status, say). A driver would store
// anything else in a form of its own (SQLite's a *time.Time as text that
// neither sorts nor compares) that the other database might take: a
// programming error, said at its first run.
func MustEncode(a any) {
	switch a.(type) {
	case nil, []byte, uuid.UUID, time.Time, JSON, ListArg:
		return
	}
	if k := reflect.ValueOf(a).Kind(); k > reflect.Float64 && k != reflect.String {
		panic(fmt.Sprintf("sqlstore: a %T argument has no encoding; pass uuid.UUID, time.Time, sqlstore.JSON, "+
			"sqlstore.List, []byte, nil, or a bool, number or string", a))
	}
}

// NullUUID is id, or NULL for uuid.Nil.
func NullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

// NullTime is t, or NULL for the zero time.
func NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// NullString is s, or NULL for "".
func NullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Backend is what a database gives Store.
type Backend struct {
	// Postgres is true for PostgreSQL, false for SQLite. PostgreSQL locks
	// rows, so statements that must not interleave with another
	// transaction's lock what they read; SQLite lets one writer in at a
	// time, so its write transactions keep every other writer out.
	Postgres bool
	// Read runs reads outside a transaction; Write, single statements
	// that change something (they may be the same).
	Read, Write DB
	// InTx runs fn in a write transaction, committing if it returns nil.
	InTx func(ctx context.Context, fn func(tx DB) error) error
}

// Store is store.Store over a Backend: every method's SQL and logic,
// written once for both databases. internal/store/pgstore and internal/store/sqlitestore
// embed it, adding how they connect, migrate and run statements.
type Store struct {
	b Backend
	q *Queries
}

// New is the store over b, with the queries of its database.
func New(b Backend) (*Store, error) {
	q, err := LoadQueries(b.Postgres)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, q: q}, nil
}

// now is the time a row is written at, as the store keeps times.
func now() time.Time { return store.StoredTime(time.Now()) }

// list runs query on db and scans every row with scan.
func list[T any](ctx context.Context, db DB, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return Collect(rows, scan)
}

// failing is err, saying what was being done (format, with args), or nil
// if err is nil.
func failing(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// changed runs a statement on db and reports whether it changed a row.
func changed(ctx context.Context, db DB, query string, args ...any) (bool, error) {
	n, err := db.Exec(ctx, query, args...)
	return n > 0, err
}
