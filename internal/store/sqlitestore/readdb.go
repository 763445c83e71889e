package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statements a readDB keeps. The store's queries
// are constants or made of constants (a few dozen texts); a query made
// from data would otherwise fill the cache, and past the bound runs
// unprepared, as before.
const maxPrepared = 256

// readDB is the store's read connections, running each query from a
// statement prepared once and kept: SQLite parses a statement every time
// it runs one unprepared, which was a third of a coach inbox's time in
// its handler (the caseload's join). database/sql prepares a kept
// statement again on each connection it lands on, once.
type readDB struct {
	*sql.DB
	mu       sync.Mutex
	prepared map[string]*sql.Stmt
	// prepare is DB.PrepareContext; a test counts through it.
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
}

func newReadDB(db *sql.DB) *readDB {
	return &readDB{DB: db, prepared: map[string]*sql.Stmt{}, prepare: db.PrepareContext}
}

// QueryContext runs query from its kept statement.
func (r *readDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st := r.statement(ctx, query)
	if st == nil {
		return r.DB.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs query from its kept statement. A query that could
// not be prepared runs unprepared, so that its error reaches the caller
// in the row, as database/sql reports it.
func (r *readDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st := r.statement(ctx, query)
	if st == nil {
		return r.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// statement is query's kept statement, prepared now if it is not kept
// yet; nil if it cannot be prepared or the cache is full. (A kept
// statement lives on each connection of the pool it has run on, as long as
// the connection: the pool keeps all of its connections idle, see Open.)
func (r *readDB) statement(ctx context.Context, query string) *sql.Stmt {
	r.mu.Lock()
	st, ok := r.prepared[query]
	full := len(r.prepared) >= maxPrepared
	r.mu.Unlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	st, err := r.prepare(ctx, query)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if was, ok := r.prepared[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return was
	}
	if len(r.prepared) >= maxPrepared { // filled meanwhile
		st.Close()
		return nil
	}
	r.prepared[query] = st
	return st
}

// closeStatements closes the kept statements, before their connections.
func (r *readDB) closeStatements() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for q, st := range r.prepared {
		st.Close()
		delete(r.prepared, q)
	}
}

// kept is how many statements are kept.
func (r *readDB) kept() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.prepared)
}
