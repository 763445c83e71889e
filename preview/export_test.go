package preview

import "testing"

// SetPartSize makes intakes run in parts of n journeys for the test.
func SetPartSize(t testing.TB, n int) {
	was := partSize
	partSize = n
	t.Cleanup(func() { partSize = was })
}

// OnPartStart has fn called as each part of a preview starts, for the test.
func OnPartStart(t testing.TB, fn func()) {
	partStarts = fn
	t.Cleanup(func() { partStarts = nil })
}
