package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
)

func TestProbeHTTP(t *testing.T) {
	isolateEnv(t)
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":"unavailable","failing":{"store":"timed out"}}`))
	}))
	defer srv.Close()
	if r := runInfuse(t, "probe", "http", srv.URL); r.code != exitOK {
		t.Errorf("probe http on a 200: exit %d, %s", r.code, r.stderr)
	}
	status = http.StatusServiceUnavailable
	r := runInfuse(t, "probe", "http", srv.URL)
	if r.code != exitFailed || !strings.Contains(r.stderr, "503") || !strings.Contains(r.stderr, `"store":"timed out"`) {
		t.Errorf("probe http on a 503: exit %d, stderr %q; want 1, the status and the body", r.code, r.stderr)
	}
	srv.Close()
	if r := runInfuse(t, "probe", "http", srv.URL); r.code != exitFailed {
		t.Errorf("probe http with nothing listening: exit %d, want 1", r.code)
	}
}

// The worker probe is unhealthy until a worker on this host polls, then healthy.
func TestProbeWorker(t *testing.T) {
	isolateEnv(t)
	ts := testenv.NewServer(t)
	t.Setenv("TEMPORAL_ADDRESS", ts.GetFrontendHostPort())
	t.Setenv("TEMPORAL_NAMESPACE", ts.GetDefaultNamespace())
	if r := runInfuse(t, "probe", "worker"); r.code != exitFailed || !strings.Contains(r.stderr, "no worker on host") {
		t.Errorf("probe worker with no worker: exit %d, stderr %q; want 1 saying no worker polls", r.code, r.stderr)
	}
	st, _ := storeFile(t)
	t.Cleanup(st.Close)
	testenv.StartWorker(t, ts, activities.New(st))
	deadline := time.Now().Add(patience)
	for {
		r := runInfuse(t, "probe", "worker")
		if r.code == exitOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe worker never saw the running worker: exit %d, %s", r.code, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestPollsFrom(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	poller := func(identity string, ago time.Duration) *taskqueuepb.PollerInfo {
		return &taskqueuepb.PollerInfo{Identity: identity, LastAccessTime: timestamppb.New(now.Add(-ago))}
	}
	for _, c := range []struct {
		name    string
		pollers []*taskqueuepb.PollerInfo
		want    bool
	}{
		{"none", nil, false},
		{"this host, just now", []*taskqueuepb.PollerInfo{poller("1@"+host+"@", time.Second)}, true},
		{"this host, with the queue in the identity", []*taskqueuepb.PollerInfo{poller("1@"+host+"@infuse-journeys", time.Second)}, true},
		{"this host, too long ago", []*taskqueuepb.PollerInfo{poller("1@"+host+"@", pollerFresh+time.Second)}, false},
		{"another host", []*taskqueuepb.PollerInfo{poller("1@other-"+host+"@", time.Second)}, false},
		{"a host whose name starts with ours", []*taskqueuepb.PollerInfo{poller("1@"+host+"x@", time.Second)}, false},
		{"another host, then this one", []*taskqueuepb.PollerInfo{poller("7@elsewhere@", time.Second), poller("1@"+host+"@", time.Minute)}, true},
	} {
		if got := pollsFrom(c.pollers, host, now); got != c.want {
			t.Errorf("%s: pollsFrom = %v, want %v", c.name, got, c.want)
		}
	}
}
