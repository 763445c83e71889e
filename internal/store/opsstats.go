package store

// What operators watch about the business record (the metrics read these at
// every scrape). Each figure is one query, however many rows there are; a
// backend offers them as methods outside the Store interface, and the
// metrics declare the small interface they use.

// OutboxCount is how many outbox messages have one status.
type OutboxCount struct {
	Status   MessageStatus
	Messages int
}

// JourneyCount is how many journeys are in one phase and state (as their
// projection rows show them).
type JourneyCount struct {
	Phase    string // "" before the programme starts
	State    string
	Journeys int
}

// How the journey workflow records a coaching checkpoint, which is what
// OverdueCheckpoints counts: the schedule item ID of every checkpoint
// starts with CheckpointItemPrefix ("checkpoint/3", see programme.Item),
// the event it records when an item passes its due time still open is
// EventTaskOverdue, and the one it records when the coach completes it
// is EventCheckpointCompleted; both carry the item ID as data's "item".
const (
	CheckpointItemPrefix     = "checkpoint/"
	EventTaskOverdue         = "task.overdue"
	EventCheckpointCompleted = "checkpoint.completed"
)

// How the journey workflow records a session's attendance, which the
// outcomes report counts (JourneyOutcome): the session's item ID as data's
// "item", the latest of the two for a session standing.
const (
	EventAttended = "attendance.present"
	EventAbsent   = "attendance.absent"
)
