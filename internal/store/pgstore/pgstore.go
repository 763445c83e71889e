// Package pgstore is the production store.Store: the business record of
// Infuse Journeys in PostgreSQL, reached through pgx. Open connects and brings
// the schema up to date with the migrations embedded in the binary, so a new
// release never needs a separate migration step.
//
// The store lives in the first schema of the connection's search_path, which
// may be set in the URL (…?search_path=infuse); the goose version table lives
// there too. That is how tests give every run its own schema.
package pgstore

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by PostgreSQL: sqlstore.Store's queries
// and logic, run through pgx.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at databaseURL (a postgres:// URL or a
// key=value connection string; runtime parameters such as search_path are
// passed on to the server) and applies any pending migrations.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parsing database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connecting to PostgreSQL at %s:%d database %q: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if schema == nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: no schema on search_path %q exists in database %q; create it first (CREATE SCHEMA …)",
			cfg.ConnConfig.RuntimeParams["search_path"], cfg.ConnConfig.Database)
	}
	if err := migrate(ctx, cfg.ConnConfig, *schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: migrating schema %q: %w", *schema, err)
	}
	s := &Store{pool: pool}
	if s.Store, err = sqlstore.New(sqlstore.Backend{Postgres: true, Read: conn{pool}, Write: conn{pool}, InTx: s.tx}); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations to schema over a short-lived
// database/sql connection (goose speaks database/sql), holding a PostgreSQL
// advisory lock so that processes starting at once migrate one at a time.
// The lock is per schema, so stores in different schemas never wait for
// each other.
func migrate(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	h := fnv.New64a()
	h.Write([]byte("infuse-journeys migrations " + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 300), // retry every second for five minutes
	)
	if err != nil {
		return err
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// tx runs fn in a transaction, committing if it returns nil. It is READ
// COMMITTED whatever the server's default: the claims (ClaimDue) read rows
// again as they are once locked, which a stricter level would turn into
// serialisation failures under contention.
func (s *Store) tx(ctx context.Context, fn func(sqlstore.DB) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		return fn(conn{tx})
	})
}

// querier is what the pool and a transaction both run statements with.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conn is sqlstore.DB over the pool or a transaction. pgx takes most Go
// values as they are (a UUID, a time as a timestamptz); conn passes the
// store's wrappers as what they wrap.
type conn struct{ q querier }

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, encode(args)...)
	return tag.RowsAffected(), err
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return c.q.Query(ctx, query, encode(args)...)
}

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return c.q.QueryRow(ctx, query, encode(args)...)
}

// encode is args as pgx takes them.
func encode(args []any) []any {
	out := slices.Clone(args)
	for i, a := range out {
		switch v := a.(type) {
		case time.Time:
			out[i] = store.StoredTime(v)
		case sqlstore.JSON:
			if v == nil {
				out[i] = nil // NULL, not JSON null
			} else {
				out[i] = []byte(v)
			}
		case sqlstore.ListArg:
			out[i] = v.Elements()
		default:
			sqlstore.MustEncode(a)
		}
	}
	return out
}
