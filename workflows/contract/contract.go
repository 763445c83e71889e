// Package contract is the vocabulary that a journey's workflow shares with
// the store and every face: its statuses. It imports nothing of the
// project, so the store, a floor below the workflows, keeps a journey's
// status (store.JourneySnapshot.State and Outcome) as this type rather
// than a string each reader must cast.
package contract

import "slices"

// Status is where a journey is. The terminal ones end the workflow.
type Status string

const (
	StatusSubmitted     Status = "submitted"
	StatusUnderReview   Status = "under_review"
	StatusOffered       Status = "offered"
	StatusAccepted      Status = "accepted"
	StatusWaitlisted    Status = "waitlisted"
	StatusAwaitingStart Status = "awaiting_start"
	StatusInLabs        Status = "in_labs"
	StatusExperimenting Status = "experimenting"
	StatusPaused        Status = "paused"

	StatusDeclined     Status = "declined"
	StatusOfferLapsed  Status = "offer_lapsed"
	StatusRejected     Status = "rejected"
	StatusNotSelected  Status = "not_selected"
	StatusWithdrawn    Status = "withdrawn"
	StatusDeferred     Status = "deferred"
	StatusCompleted    Status = "completed"
	StatusNotCompleted Status = "not_completed"
)

// underWay are the statuses of a journey under way, in the order it goes
// through them; ended, those of a journey that has ended.
var (
	underWay = []Status{StatusSubmitted, StatusUnderReview, StatusOffered, StatusAccepted, StatusWaitlisted,
		StatusAwaitingStart, StatusInLabs, StatusExperimenting, StatusPaused}
	ended = []Status{StatusDeclined, StatusOfferLapsed, StatusRejected, StatusNotSelected, StatusWithdrawn,
		StatusDeferred, StatusCompleted, StatusNotCompleted}
)

// Statuses are every status: those of a journey under way, in the order it
// goes through them, then the terminal ones.
func Statuses() []Status { return slices.Concat(underWay, ended) }

// Outcomes are the terminal statuses, one of which a journey that has ended
// keeps as its outcome.
func Outcomes() []Status { return slices.Clone(ended) }

// Terminal reports whether a journey in this status has ended.
func (s Status) Terminal() bool { return slices.Contains(ended, s) }
