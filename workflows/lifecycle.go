package workflows

import (
	"slices"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// JourneyMoves is a journey's lifecycle: for each status, the statuses a
// journey in it may move to. README's "Journey lifecycle" is this table.
// Terminal statuses have no moves. A programme status may "move" to itself:
// that is a new phase of the same kind (one lab month to the next).
var JourneyMoves = map[Status][]Status{
	"":                           {contract.StatusSubmitted}, // the application (a deferral arrives accepted)
	contract.StatusSubmitted:     {contract.StatusUnderReview, contract.StatusOffered, contract.StatusWaitlisted, contract.StatusRejected, contract.StatusNotSelected, contract.StatusWithdrawn},
	contract.StatusUnderReview:   {contract.StatusOffered, contract.StatusWaitlisted, contract.StatusRejected, contract.StatusNotSelected, contract.StatusWithdrawn},
	contract.StatusWaitlisted:    {contract.StatusOffered, contract.StatusRejected, contract.StatusNotSelected, contract.StatusWithdrawn},
	contract.StatusOffered:       {contract.StatusAccepted, contract.StatusDeclined, contract.StatusOfferLapsed, contract.StatusNotSelected, contract.StatusWithdrawn},
	contract.StatusAccepted:      {contract.StatusAwaitingStart, contract.StatusWithdrawn, contract.StatusDeferred},
	contract.StatusAwaitingStart: {contract.StatusInLabs, contract.StatusExperimenting, contract.StatusPaused, contract.StatusWithdrawn, contract.StatusDeferred, contract.StatusCompleted, contract.StatusNotCompleted},
	contract.StatusInLabs:        {contract.StatusInLabs, contract.StatusExperimenting, contract.StatusPaused, contract.StatusWithdrawn, contract.StatusDeferred, contract.StatusCompleted, contract.StatusNotCompleted},
	contract.StatusExperimenting: {contract.StatusExperimenting, contract.StatusPaused, contract.StatusWithdrawn, contract.StatusDeferred, contract.StatusCompleted, contract.StatusNotCompleted},
	contract.StatusPaused:        {contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting, contract.StatusWithdrawn, contract.StatusDeferred},
}

// CanMove reports whether the lifecycle lets a journey move from one
// status to another.
func CanMove(from, to Status) bool { return slices.Contains(JourneyMoves[from], to) }

// Reachable reports whether a journey in one status can come to be in
// another, in any number of moves: whether a report of to is news after
// from, rather than an old report arriving late.
func Reachable(from, to Status) bool {
	seen := map[Status]bool{from: true}
	next := []Status{from}
	for len(next) > 0 {
		s := next[0]
		next = next[1:]
		for _, t := range JourneyMoves[s] {
			if t == to {
				return true
			}
			if !seen[t] {
				seen[t] = true
				next = append(next, t)
			}
		}
	}
	return false
}

// IntakeMoves is an intake's lifecycle, as JourneyMoves is a journey's.
// Applications may be decided and the intake started before the window
// has closed.
var IntakeMoves = map[store.IntakeStatus][]store.IntakeStatus{
	"":                  {store.IntakeDraft},
	store.IntakeDraft:   {store.IntakeOpen},
	store.IntakeOpen:    {store.IntakeClosed, store.IntakeStarted},
	store.IntakeClosed:  {store.IntakeStarted},
	store.IntakeStarted: {store.IntakeFinished},
}

// move is the one way a journey's status changes. It moves the journey to
// `to` if its status is still `from` and the lifecycle allows the move,
// and reports whether it did. A step that read the status and then waited
// (an activity, a signal) passes what it read as from: if a handler changed
// the status meanwhile, the step loses the race and must not act on what it
// read.
func (j *journey) move(from, to Status) bool {
	if j.guarded && (j.Status != from || !CanMove(from, to)) {
		return false
	}
	j.Status = to
	j.moves++
	return true
}

// moveIntake is the one way an intake's status changes.
func (in *intake) moveIntake(to store.IntakeStatus) bool {
	if in.guarded && !slices.Contains(IntakeMoves[in.Status], to) {
		return false
	}
	in.Status = to
	return true
}
