// Package sqlitestore is the embedded store.Store: the business record of
// Infuse Journeys in a single SQLite file, through the pure-Go driver
// modernc.org/sqlite, so the all-in-one dev mode runs on a fresh machine with
// nothing else installed. Open applies the migrations embedded in the binary.
//
// SQLite lets one writer in at a time. Activities write concurrently, so the
// store sends every write through a single connection whose transactions
// begin IMMEDIATE (taking the write lock up front, so a transaction never has
// to upgrade a read lock and fail with SQLITE_BUSY), with a busy timeout for
// other processes on the same file. Reads use a separate pool of read-only
// connections, which WAL mode lets run alongside the writer.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by SQLite: sqlstore.Store's queries and
// logic, run through database/sql.
type Store struct {
	*sqlstore.Store
	write *sql.DB // exactly one connection: all writes queue for it
	read  *readDB // read-only connections; write's one for ":memory:"
	// prepared are Record's statements, prepared once on the write
	// connection: SQLite parses a statement each time it runs one
	// unprepared, which was a fifth of the time a journey's records took.
	// (Not every query: with all of them prepared on it, an in-memory
	// database recorded half again slower.)
	prepared map[string]*sql.Stmt
	// unprepared counts the statements run in write transactions that
	// were not prepared: a test holds Record to none.
	unprepared atomic.Int64
}

var _ store.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Open opens (creating if need be) the database file at path, or a private
// in-memory database if path is ":memory:", and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New(`sqlitestore: no database path; give a file name, or ":memory:"`)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlitestore: database path %q must not contain '?' or '#'", path)
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	write, err := sql.Open("sqlite", path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0) // an in-memory database lives only as long as its connection
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, read: newReadDB(write)}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: migrating %s: %w", path, err)
	}
	q, err := sqlstore.LoadQueries(false)
	if err != nil {
		write.Close()
		return nil, err
	}
	if err := s.prepare(ctx, q); err != nil {
		s.closeStatements()
		write.Close()
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	if path != ":memory:" {
		read, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			s.closeStatements()
			write.Close()
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		// Every connection stays open when idle (database/sql keeps two by
		// default), so the read statements prepared on it stay prepared.
		conns := max(4, runtime.GOMAXPROCS(0))
		read.SetMaxOpenConns(conns)
		read.SetMaxIdleConns(conns)
		s.read = newReadDB(read)
	}
	if s.Store, err = sqlstore.New(sqlstore.Backend{Postgres: false, Read: conn{s.read}, Write: conn{s.write}, InTx: s.tx}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepare prepares Record's statements on the write connection (before
// any transaction holds it: it is the only one).
func (s *Store) prepare(ctx context.Context, q *sqlstore.Queries) error {
	s.prepared = map[string]*sql.Stmt{}
	for _, query := range q.Recording() {
		st, err := s.write.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", query, err)
		}
		s.prepared[query] = st
	}
	return nil
}

// closeStatements closes the prepared statements.
func (s *Store) closeStatements() {
	for _, st := range s.prepared {
		st.Close()
	}
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// The single write connection also serialises migrations between
	// goroutines; BEGIN IMMEDIATE and the busy timeout between processes.
	p, err := goose.NewProvider(goose.DialectSQLite3, s.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Ping checks that the database can be written, which is what activities need.
func (s *Store) Ping(ctx context.Context) error { return s.write.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() {
	s.closeStatements()
	s.read.closeStatements()
	if s.read.DB != s.write {
		s.read.DB.Close()
	}
	s.write.Close()
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(sqlstore.DB) error) (err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		// A panic too (encode's refusal, say) must give the single write
		// connection back, whoever recovers it.
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(txConn{tx, s.prepared, &s.unprepared}); err != nil {
		return err
	}
	return tx.Commit()
}

// fmtTime is how a time is stored: TEXT in sqlstore.TimeLayout, which
// sorts as it compares.
func fmtTime(t time.Time) string { return store.StoredTime(t).UTC().Format(sqlstore.TimeLayout) }

// encode is args as SQLite stores them: a time as fmtTime's TEXT, a UUID
// as its TEXT, a bool as 0 or 1, JSON as TEXT, a list as a JSON array.
func encode(args []any) []any {
	out := slices.Clone(args)
	for i, a := range out {
		switch v := a.(type) {
		case time.Time:
			out[i] = fmtTime(v)
		case uuid.UUID:
			out[i] = v.String()
		case bool:
			out[i] = 0
			if v {
				out[i] = 1
			}
		case sqlstore.JSON:
			out[i] = nil
			if v != nil {
				out[i] = string(v)
			}
		case sqlstore.ListArg:
			b, err := json.Marshal(v.Elements())
			if err != nil {
				panic(err) // numbers and strings always marshal
			}
			out[i] = string(b)
		default:
			sqlstore.MustEncode(a)
		}
	}
	return out
}

// rows is *sql.Rows as sqlstore.Rows.
type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

// asRows is a query's result as sqlstore.Rows.
func asRows(r *sql.Rows, err error) (sqlstore.Rows, error) {
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

// affected is how many rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// querier is what both the read connections (readDB, which keeps their
// statements prepared) and the write connection run statements with.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn is sqlstore.DB over the read connections or, outside a
// transaction, the write connection.
type conn struct{ q querier }

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return affected(c.q.ExecContext(ctx, query, encode(args)...))
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return asRows(c.q.QueryContext(ctx, query, encode(args)...))
}

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return c.q.QueryRowContext(ctx, query, encode(args)...)
}

// txConn is sqlstore.DB in a write transaction, running Record's
// statements prepared.
type txConn struct {
	tx         *sql.Tx
	prepared   map[string]*sql.Stmt
	unprepared *atomic.Int64
}

func (c txConn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if st := c.prepared[query]; st != nil {
		return affected(c.tx.StmtContext(ctx, st).ExecContext(ctx, encode(args)...))
	}
	c.unprepared.Add(1)
	return affected(c.tx.ExecContext(ctx, query, encode(args)...))
}

func (c txConn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	if st := c.prepared[query]; st != nil {
		return asRows(c.tx.StmtContext(ctx, st).QueryContext(ctx, encode(args)...))
	}
	c.unprepared.Add(1)
	return asRows(c.tx.QueryContext(ctx, query, encode(args)...))
}

func (c txConn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	if st := c.prepared[query]; st != nil {
		return c.tx.StmtContext(ctx, st).QueryRowContext(ctx, encode(args)...)
	}
	c.unprepared.Add(1)
	return c.tx.QueryRowContext(ctx, query, encode(args)...)
}
