package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

// sqlState is an error with a SQLSTATE, as pgx's PgError is.
type sqlState string

func (s sqlState) Error() string    { return "server said " + string(s) }
func (s sqlState) SQLState() string { return string(s) }

// sqliteError is an error with SQLite's result code, as modernc.org/sqlite's is.
type sqliteError int

func (e sqliteError) Error() string { return fmt.Sprintf("sqlite said %d", int(e)) }
func (e sqliteError) Code() int     { return int(e) }

func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		what string
		err  error
		want bool
	}{
		{"a refused connection", fmt.Errorf("listing: %w", refused), true},
		{"a connection cut mid-answer", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"the server shutting down (57P01)", fmt.Errorf("query: %w", sqlState("57P01")), true},
		{"the server starting up (57P03)", sqlState("57P03"), true},
		{"a connection failure (class 08)", sqlState("08006"), true},
		{"the server's disk full (53100)", fmt.Errorf("insert: %w", sqlState("53100")), true},
		{"the server out of connections (53300)", sqlState("53300"), true},
		{"SQLite's disk full (SQLITE_FULL)", fmt.Errorf("commit: %w", sqliteError(13)), true},
		{"SQLite's constraint failed (SQLITE_CONSTRAINT_UNIQUE)", sqliteError(2067), false},
		{"SQLite's disk I/O error (SQLITE_IOERR)", sqliteError(10), false},
		{"a unique violation (23505)", sqlState("23505"), false},
		{"the caller's deadline", fmt.Errorf("claim: %w", context.DeadlineExceeded), false},
		{"the caller's deadline, as a net.Error too", fmt.Errorf("%w: %w", context.DeadlineExceeded, refused), false},
		{"the caller giving up", context.Canceled, false},
		{"not found", ErrNotFound, false},
		{"another error", errors.New("disk I/O error"), false},
		{"no error", nil, false},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("%s: Unavailable = %v, want %v", c.what, got, c.want)
		}
	}
}
