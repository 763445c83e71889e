//go:build !race

package e2e_test

// raceDetector says the tests are built with -race.
const raceDetector = false
