package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/workflows/contract"
)

// snapshotJSON is the stored form of a JourneySnapshot in the event log. It
// has its own JSON names so renaming a Go field never breaks the rebuild of
// projections from old events.
type snapshotJSON struct {
	JourneyID    uuid.UUID       `json:"journey_id"`
	IntakeID     uuid.UUID       `json:"intake_id"`
	PersonID     uuid.UUID       `json:"person_id"`
	CoachID      uuid.UUID       `json:"coach_id,omitzero"`
	State        contract.Status `json:"state"`
	Phase        string          `json:"phase,omitempty"`
	NextDueItem  string          `json:"next_due_item,omitempty"`
	NextDueAt    time.Time       `json:"next_due_at,omitzero"`
	OverdueCount int             `json:"overdue_count,omitempty"`
	Outcome      contract.Status `json:"outcome,omitempty"`
	// Checkpoints is absent (nil) in snapshots recorded before they were
	// carried: unknown, not "none left", which is an empty list.
	Checkpoints *[]checkpointJSON `json:"checkpoints,omitempty"`
}

// checkpointJSON is the stored form of a Checkpoint, in a snapshot and in
// the journeys projection's checkpoints column alike.
type checkpointJSON struct {
	ID      string    `json:"id"`
	OpensAt time.Time `json:"opens_at"`
	DueAt   time.Time `json:"due_at"`
}

// checkpointsJSON is the stored form of a snapshot's checkpoints: nil when
// they are unknown, so the key is left out.
func checkpointsJSON(known bool, cs []Checkpoint) *[]checkpointJSON {
	if !known {
		return nil
	}
	out := make([]checkpointJSON, len(cs))
	for i, c := range cs {
		out[i] = checkpointJSON{ID: c.ID, OpensAt: StoredTime(c.OpensAt), DueAt: StoredTime(c.DueAt)}
	}
	return &out
}

// checkpointsOf reverses checkpointsJSON.
func checkpointsOf(js *[]checkpointJSON) (cs []Checkpoint, known bool) {
	if js == nil {
		return nil, false
	}
	cs = make([]Checkpoint, len(*js))
	for i, c := range *js {
		cs[i] = Checkpoint{ID: c.ID, OpensAt: StoredTime(c.OpensAt), DueAt: StoredTime(c.DueAt)}
	}
	return cs, true
}

// EncodeCheckpoints is the JSON the backends store in a journey's
// checkpoints column: nil (SQL NULL) when the snapshot does not know them.
func EncodeCheckpoints(s JourneySnapshot) ([]byte, error) {
	js := checkpointsJSON(s.CheckpointsKnown, s.Checkpoints)
	if js == nil {
		return nil, nil
	}
	b, err := json.Marshal(*js)
	if err != nil {
		return nil, fmt.Errorf("encoding checkpoints of journey %s: %w", s.JourneyID, err)
	}
	return b, nil
}

// DecodeCheckpoints reverses EncodeCheckpoints into s. Empty input (SQL
// NULL) leaves the checkpoints unknown.
func DecodeCheckpoints(b []byte, s *JourneySnapshot) error {
	if len(b) == 0 {
		s.Checkpoints, s.CheckpointsKnown = nil, false
		return nil
	}
	var js []checkpointJSON
	if err := json.Unmarshal(b, &js); err != nil {
		// The column is a projection: RebuildProjections rewrites it from the event log.
		return fmt.Errorf("decoding the stored checkpoints of journey %s (journeys.checkpoints; rebuilding the "+
			"projections from the event log rewrites it): %w", s.JourneyID, err)
	}
	s.Checkpoints, s.CheckpointsKnown = checkpointsOf(&js)
	return nil
}

// EncodeSnapshot is the JSON the backends store in an event's snapshot
// column. A nil snapshot encodes as nil (SQL NULL).
func EncodeSnapshot(s *JourneySnapshot) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	b, err := json.Marshal(snapshotJSON{
		JourneyID:    s.JourneyID,
		IntakeID:     s.IntakeID,
		PersonID:     s.PersonID,
		CoachID:      s.CoachID,
		State:        s.State,
		Phase:        s.Phase,
		NextDueItem:  s.NextDueItem,
		NextDueAt:    StoredTime(s.NextDueAt),
		OverdueCount: s.OverdueCount,
		Outcome:      s.Outcome,
		Checkpoints:  checkpointsJSON(s.CheckpointsKnown, s.Checkpoints),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding snapshot of journey %s: %w", s.JourneyID, err)
	}
	return b, nil
}

// DecodeSnapshot reverses EncodeSnapshot. Empty input (SQL NULL) gives nil.
func DecodeSnapshot(b []byte) (*JourneySnapshot, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var j snapshotJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("decoding stored journey snapshot: %w", err)
	}
	s := &JourneySnapshot{
		JourneyID:    j.JourneyID,
		IntakeID:     j.IntakeID,
		PersonID:     j.PersonID,
		CoachID:      j.CoachID,
		State:        j.State,
		Phase:        j.Phase,
		NextDueItem:  j.NextDueItem,
		NextDueAt:    StoredTime(j.NextDueAt),
		OverdueCount: j.OverdueCount,
		Outcome:      j.Outcome,
	}
	s.Checkpoints, s.CheckpointsKnown = checkpointsOf(j.Checkpoints)
	return s, nil
}

// CompactData normalises event data read back from a database, so that both
// backends return compact JSON whatever the column type did to whitespace.
// Empty input gives nil.
func CompactData(b []byte) (json.RawMessage, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, fmt.Errorf("stored event data is not valid JSON: %w", err)
	}
	return json.RawMessage(buf.Bytes()), nil
}
