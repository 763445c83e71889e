package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// maxIdempotencyKey bounds the Idempotency-Key header, which becomes the
// Temporal update ID and the seed of the note's ID.
const maxIdempotencyKey = 200

// CompleteCheckpointRequest is the body of POST
// /api/journeys/{id}/checkpoints/{n}/complete.
type CompleteCheckpointRequest struct {
	Notes  string        `json:"notes"`
	Status workflows.RAG `json:"status"`
}

// CompletedCheckpoint is the answer to a checkpoint's completion.
type CompletedCheckpoint struct {
	Checkpoint  string        `json:"checkpoint"`
	CompletedAt time.Time     `json:"completedAt"`
	Status      workflows.RAG `json:"status"`
}

// completeCheckpoint is POST /api/journeys/{id}/checkpoints/{n}/complete:
// starter.CompleteCheckpoint by the coach the token belongs to, for a
// journey whose participant they coach. The Idempotency-Key header is the
// request's ID, so a replay completes the checkpoint once and answers the same.
func (h *handler) completeCheckpoint(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	journeyID, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("%q is not a journey ID; a journey ID is a UUID.", r.PathValue("id")))
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 99 {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("%q is not a checkpoint number; checkpoints are numbered from 1 (checkpoint/3 is 3).", r.PathValue("n")))
		return
	}
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" || len(key) > maxIdempotencyKey {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("Send an Idempotency-Key header of 1 to %d characters (a new UUID per completion, the same one when retrying), so a retried request completes the checkpoint only once.", maxIdempotencyKey))
		return
	}
	var body CompleteCheckpointRequest
	if !decodeJSON(w, r, &body, 0) {
		return
	}
	switch body.Status {
	case workflows.RAGRed, workflows.RAGAmber, workflows.RAGGreen:
	default:
		writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("The status %q is not one of red, amber or green.", body.Status))
		return
	}
	if strings.TrimSpace(body.Notes) == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "The notes are empty; say how the participant is getting on.")
		return
	}

	// Only the journey's own coach may learn that it exists.
	notYours := fmt.Sprintf("You coach no journey %s; check the ID.", journeyID)
	j, err := h.svc.Store.GetJourney(r.Context(), journeyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeProblem(w, http.StatusNotFound, notYours)
		return
	case err != nil:
		h.internalError(w, r, "looking up the journey", err)
		return
	case j.CoachID != p.PersonID:
		writeProblem(w, http.StatusNotFound, notYours)
		return
	}

	checkpoint := fmt.Sprintf("checkpoint/%d", n)
	t, err := h.svc.CompleteCheckpoint(r.Context(), starter.Checkpoint{
		JourneyID: journeyID, CheckpointID: checkpoint, CoachID: p.PersonID,
		Notes: body.Notes, Status: body.Status, RequestID: key,
	})
	switch {
	case errors.Is(err, starter.ErrInvalid):
		writeProblem(w, http.StatusUnprocessableEntity, detail(err, starter.ErrInvalid))
	case errors.Is(err, starter.ErrRejected):
		writeProblem(w, http.StatusConflict, detail(err, starter.ErrRejected))
	case errors.Is(err, starter.ErrNotFound):
		writeProblem(w, http.StatusNotFound, detail(err, starter.ErrNotFound))
	case err != nil:
		h.internalError(w, r, "completing the checkpoint", err)
	default:
		writeJSON(w, http.StatusOK, CompletedCheckpoint{Checkpoint: checkpoint, CompletedAt: t.CompletedAt, Status: t.RAG})
	}
}

// detail is err's message without the sentinel's "kind: " prefix.
func detail(err, kind error) string {
	msg := strings.TrimPrefix(err.Error(), kind.Error()+": ")
	if msg == "" {
		return kind.Error()
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
