//go:build !race

package e2e_test

// loadCoaches is how many coaches the load benchmark has (load_test.go).
const loadCoaches = 25
