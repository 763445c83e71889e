package preview

import "testing"

// SetPartSize makes intakes run in parts of n journeys for the test.
func SetPartSize(t testing.TB, n int) {
	was := partSize
	partSize = n
	t.Cleanup(func() { partSize = was })
}
