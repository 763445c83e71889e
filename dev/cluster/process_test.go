package cluster_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/dev/cluster"
)

// A process that exits by itself can be started again, as a supervisor
// does, and LastRun shows only what the latest run wrote.
func TestProcessStartsAgainAfterItExits(t *testing.T) {
	p, err := cluster.StartProcess("once", filepath.Join(t.TempDir(), "once.log"), "/bin/sh", []string{"-c", "echo ran; exit 1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Running() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Running() {
		t.Fatal("sh -c 'exit 1' still running after 10 s")
	}
	if err := p.Start(); err != nil {
		t.Fatalf("starting it again after it exited: %v", err)
	}
	defer p.Kill()
	if n := strings.Count(p.Log(), "=== once: start"); n != 2 {
		t.Errorf("the log shows %d starts, want 2:\n%s", n, p.Log())
	}
	if strings.Contains(p.LastRun(), "start 1") || !strings.Contains(p.LastRun(), "start 2") {
		t.Errorf("LastRun is not the second run's:\n%s", p.LastRun())
	}
}
