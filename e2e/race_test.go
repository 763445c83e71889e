//go:build race

package e2e_test

// loadCoaches, under the race detector, is small: the load benchmark's
// figures mean nothing there and seeding 25 coaches' journeys takes
// minutes, while scripts/test runs every benchmark once only to show that
// it still runs.
const loadCoaches = 3
