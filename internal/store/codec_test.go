package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestSnapshotCheckpointsRoundTrip: a snapshot's checkpoints survive the
// event log's JSON, as stored times, under their stable JSON names; none
// left stays known; a snapshot without them (and an event recorded before
// they were carried) decodes as unknown, so the inbox asks the workflow.
func TestSnapshotCheckpointsRoundTrip(t *testing.T) {
	bst := time.FixedZone("BST", 60*60)
	opens := time.Date(2026, 5, 4, 9, 0, 0, 123456789, bst)
	withSome := JourneySnapshot{
		JourneyID: uuid.MustParse("0b5c1f44-6b0f-4bde-9c1a-9f2f3c1b7a01"),
		State:     "experimentation",
		Checkpoints: []Checkpoint{
			{ID: "checkpoint/2", OpensAt: opens, DueAt: opens.Add(48 * time.Hour)},
			{ID: "checkpoint/3", OpensAt: opens.Add(7 * 24 * time.Hour), DueAt: opens.Add(9 * 24 * time.Hour)},
		},
		CheckpointsKnown: true,
	}
	noneLeft := JourneySnapshot{State: "experimentation", CheckpointsKnown: true}
	unknown := JourneySnapshot{State: "experimentation"}

	for _, tc := range []struct {
		name     string
		in       JourneySnapshot
		wantJSON string // a part of the encoding that must be there, or "" for no checkpoints key
	}{
		{"some", withSome, `"checkpoints":[{"id":"checkpoint/2","opens_at":"2026-05-04T08:00:00.123456Z","due_at":"2026-05-06T08:00:00.123456Z"},`},
		{"none left", noneLeft, `"checkpoints":[]`},
		{"unknown", unknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeSnapshot(&tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantJSON == "" && strings.Contains(string(b), "checkpoints") {
				t.Errorf("encoding %s has checkpoints; unknown must leave the key out", b)
			}
			if tc.wantJSON != "" && !strings.Contains(string(b), tc.wantJSON) {
				t.Errorf("encoding %s\nlacks %s", b, tc.wantJSON)
			}
			got, err := DecodeSnapshot(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.in
			want.Checkpoints = nil
			for _, c := range tc.in.Checkpoints {
				want.Checkpoints = append(want.Checkpoints, Checkpoint{ID: c.ID, OpensAt: StoredTime(c.OpensAt), DueAt: StoredTime(c.DueAt)})
			}
			if got.CheckpointsKnown != want.CheckpointsKnown || len(got.Checkpoints) != len(want.Checkpoints) ||
				(len(want.Checkpoints) > 0 && !reflect.DeepEqual(got.Checkpoints, want.Checkpoints)) {
				t.Errorf("decoded checkpoints %+v (known %v), want %+v (known %v)",
					got.Checkpoints, got.CheckpointsKnown, want.Checkpoints, want.CheckpointsKnown)
			}

			// The projection's column holds the same list, NULL for unknown.
			col, err := EncodeCheckpoints(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if (col == nil) != !tc.in.CheckpointsKnown {
				t.Errorf("EncodeCheckpoints = %q; want NULL exactly when unknown", col)
			}
			var back JourneySnapshot
			if err := DecodeCheckpoints(col, &back); err != nil {
				t.Fatal(err)
			}
			if back.CheckpointsKnown != want.CheckpointsKnown || len(back.Checkpoints) != len(want.Checkpoints) ||
				(len(want.Checkpoints) > 0 && !reflect.DeepEqual(back.Checkpoints, want.Checkpoints)) {
				t.Errorf("checkpoints column decoded %+v (known %v), want %+v (known %v)",
					back.Checkpoints, back.CheckpointsKnown, want.Checkpoints, want.CheckpointsKnown)
			}
		})
	}

	// An event recorded before checkpoints were carried.
	old := []byte(`{"journey_id":"0b5c1f44-6b0f-4bde-9c1a-9f2f3c1b7a01","intake_id":"00000000-0000-0000-0000-000000000000",` +
		`"person_id":"00000000-0000-0000-0000-000000000000","state":"experimentation","next_due_item":"checkpoint/2",` +
		`"next_due_at":"2026-05-06T08:00:00Z","overdue_count":1}`)
	got, err := DecodeSnapshot(old)
	if err != nil {
		t.Fatal(err)
	}
	if got.CheckpointsKnown || got.Checkpoints != nil || got.NextDueItem != "checkpoint/2" || got.OverdueCount != 1 {
		t.Errorf("old snapshot decoded as %+v; want its fields, checkpoints unknown", got)
	}
	if err := DecodeCheckpoints([]byte(`{"id":1}`), got); err == nil {
		t.Error("DecodeCheckpoints of a JSON object succeeded; a damaged column must be reported")
	}
}

// TestSnapshotGoJSON: a snapshot's checkpoints survive the JSON that
// carries the record activity's input through Temporal, "none left"
// included; a snapshot without them (as GetJourney's, which the API
// shows) has no such keys, so the API's schema stays as it is.
func TestSnapshotGoJSON(t *testing.T) {
	due := time.Date(2026, 5, 6, 8, 0, 0, 0, time.UTC)
	for _, in := range []JourneySnapshot{
		{State: "experimentation", CheckpointsKnown: true, Checkpoints: []Checkpoint{{ID: "checkpoint/2", OpensAt: due.Add(-48 * time.Hour), DueAt: due}}},
		{State: "experimentation", CheckpointsKnown: true},
	} {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out JourneySnapshot
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Errorf("through JSON %s: %+v, want %+v", b, out, in)
		}
	}
	b, err := json.Marshal(JourneySnapshot{State: "in_labs"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Checkpoints") {
		t.Errorf("a snapshot without checkpoints encodes as %s; the API's JourneyDetail schema allows no Checkpoints keys", b)
	}
}
