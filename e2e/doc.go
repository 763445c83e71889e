// Package e2e holds the end-to-end tests of Infuse Journeys: a real
// in-process Temporal server, the real worker and activities, both store
// backends, and every action driven through the application (internal/app), the same code
// the binary runs. It has no code of its own; see e2e_test.go.
//
// Run it with
//
//	go test ./e2e/
//
// (PostgreSQL must be reachable at $INFUSE_TEST_DATABASE_URL, by default
// 127.0.0.1:5432 database "test"). With INFUSE_RECORD_HISTORIES=1 the
// scenarios on SQLite also rewrite the histories under workflows/testdata
// that the replay test in package workflows checks new workflow code
// against; all of them, with
//
//	INFUSE_RECORD_HISTORIES=1 go test ./e2e/ -count=1 -run 'TestEndToEnd/sqlite'
//
// (see workflows/replay_test.go).
package e2e
