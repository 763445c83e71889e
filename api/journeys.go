package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// journey is GET /api/journeys/{id}: state, what is ahead, the timeline.
func (h *handler) journey(w http.ResponseWriter, r *http.Request) {
	j, ok := h.visibleJourney(w, r)
	if !ok {
		return
	}
	d, err := h.svc.Views.JourneyDetail(r.Context(), j.JourneyID)
	if err != nil {
		h.fail(w, r, "reading the journey", err)
		return
	}
	if d.LiveCause != nil {
		h.workflowUnavailable(r, j.JourneyID, d.LiveCause)
	}
	writeJSON(w, http.StatusOK, wire.JourneyDetailOf(d))
}

// calendar is GET /api/journeys/{id}/calendar.ics: the journey's sessions
// and checkpoints as an iCalendar file, for the participant's calendar.
func (h *handler) calendar(w http.ResponseWriter, r *http.Request) {
	j, ok := h.visibleJourney(w, r)
	if !ok {
		return
	}
	ics, err := h.svc.Views.JourneyCalendar(r.Context(), j.JourneyID)
	if err != nil {
		h.fail(w, r, "making the journey's calendar", err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="infuse.ics"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(ics)
}

// StatusAnswer is the answer of a change that moves a journey to a state.
type StatusAnswer struct {
	Status workflows.Status `json:"status"`
}

// DecisionRequest is the body of POST /api/journeys/{id}/decision.
type DecisionRequest struct {
	Decision workflows.Decision `json:"decision"`
}

func (h *handler) decide(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body DecisionRequest) {
	switch body.Decision {
	case workflows.DecisionOffer, workflows.DecisionWaitlist, workflows.DecisionReject:
	default:
		writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("The decision %q is not one of offer, waitlist or reject.", body.Decision))
		return
	}
	st, err := h.svc.Commands.Decide(r.Context(), j.IntakeID, j.JourneyID, body.Decision)
	h.answer(w, r, "recording the decision", err, StatusAnswer{st})
}

// OfferResponse is the body of POST /api/journeys/{id}/offer.
type OfferResponse struct {
	Accept *bool `json:"accept"`
}

func (h *handler) respondToOffer(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body OfferResponse) {
	if body.Accept == nil {
		writeProblem(w, http.StatusUnprocessableEntity, `Say whether you accept the offer: {"accept": true} or {"accept": false}.`)
		return
	}
	st, err := h.svc.Commands.RespondToOffer(r.Context(), j.JourneyID, *body.Accept)
	h.answer(w, r, "answering the offer", err, StatusAnswer{st})
}

// AssignCoachRequest is the body of POST /api/journeys/{id}/coach.
type AssignCoachRequest struct {
	CoachID uuid.UUID `json:"coachId"`
}

func (h *handler) assignCoach(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body AssignCoachRequest) {
	h.answer(w, r, "assigning the coach", h.svc.Commands.AssignCoach(r.Context(), j.JourneyID, body.CoachID), Done{})
}

// AttendanceRequest is the body of POST /api/journeys/{id}/attendance.
type AttendanceRequest struct {
	Session  string `json:"session" doc:"e.g. adaption-lab/1"`
	Attended *bool  `json:"attended"`
}

func (h *handler) attendance(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body AttendanceRequest) {
	if strings.TrimSpace(body.Session) == "" || body.Attended == nil {
		writeProblem(w, http.StatusUnprocessableEntity, `Name the session and whether the participant attended: {"session": "adaption-lab/1", "attended": true}.`)
		return
	}
	h.answer(w, r, "recording attendance", h.svc.Commands.RecordAttendance(r.Context(), j.JourneyID, body.Session, *body.Attended), Done{})
}

// WithdrawRequest is the body of POST /api/journeys/{id}/withdraw.
type WithdrawRequest struct {
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty" doc:"Free text, kept in the store as personal data"`
}

func (h *handler) withdraw(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body WithdrawRequest) {
	// The journey would refuse an unknown reason too, but as a conflict
	// (409) after storing the note; it is a mistake in the request.
	if !slices.Contains(workflows.WithdrawReasons, body.Reason) {
		writeProblem(w, http.StatusUnprocessableEntity, fmt.Sprintf("The reason %q is not one of %s; say more in the note.",
			body.Reason, strings.Join(workflows.WithdrawReasons, ", ")))
		return
	}
	err := h.svc.Commands.Withdraw(r.Context(), j.JourneyID, principal(r).PersonID, body.Reason, body.Note)
	h.answer(w, r, "withdrawing the participant", err, Done{})
}

// DeferRequest is the body of POST /api/journeys/{id}/defer.
type DeferRequest struct {
	IntakeID uuid.UUID `json:"intakeId" doc:"The later intake"`
}

// Deferred is the answer to a deferral: the participant's journey in the later intake.
type Deferred struct {
	JourneyID uuid.UUID `json:"journeyId" doc:"The participant's journey in the later intake"`
}

func (h *handler) deferJourney(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body DeferRequest) {
	id, err := h.svc.Commands.Defer(r.Context(), j.JourneyID, body.IntakeID)
	h.answer(w, r, "deferring the participant", err, Deferred{id})
}

func (h *handler) pause(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, _ struct{}) {
	h.answer(w, r, "pausing the journey", h.svc.Commands.Pause(r.Context(), j.JourneyID), Done{})
}

func (h *handler) resume(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, _ struct{}) {
	h.answer(w, r, "resuming the journey", h.svc.Commands.Resume(r.Context(), j.JourneyID), Done{})
}

// SubmitTaskRequest is the body of POST /api/journeys/{id}/tasks/{task}/submit.
type SubmitTaskRequest struct {
	Text string `json:"text" openapi:"minLength=1"`
}

func (h *handler) submitTask(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body SubmitTaskRequest) {
	if strings.TrimSpace(body.Text) == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "The text is empty; write your plan or reflection.")
		return
	}
	task := r.PathValue("task")
	t, err := h.svc.Commands.SubmitTask(r.Context(), j.JourneyID, principal(r).PersonID, task, body.Text, requestID(r))
	h.answer(w, r, "submitting the task", err, wire.TaskDone(task, t))
}

// CompleteCheckpointRequest is the body of POST
// /api/journeys/{id}/checkpoints/{n}/complete.
type CompleteCheckpointRequest struct {
	Notes  string        `json:"notes" doc:"The coach's notes; kept as personal data, visible to the programme's staff" openapi:"minLength=1"`
	Status workflows.RAG `json:"status"`
}

// completeCheckpoint is a coach completing a coaching checkpoint of a
// journey they coach: a Temporal Update whose validator's refusals come
// back as 409 (wrong time, wrong coach) or 422. The Idempotency-Key is
// also the update's ID, so even a retry that outlives the stored answer
// completes the checkpoint once.
func (h *handler) completeCheckpoint(w http.ResponseWriter, r *http.Request, j store.JourneySnapshot, body CompleteCheckpointRequest) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 99 {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("%q is not a checkpoint number; checkpoints are numbered from 1 (checkpoint/3 is 3).", r.PathValue("n")))
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
	checkpoint := fmt.Sprintf("checkpoint/%d", n)
	t, err := h.svc.Commands.CompleteCheckpoint(r.Context(), commands.Checkpoint{
		JourneyID: j.JourneyID, CheckpointID: checkpoint, CoachID: principal(r).PersonID,
		Notes: body.Notes, Status: body.Status, RequestID: requestID(r),
	})
	h.answer(w, r, "completing the checkpoint", err, wire.TaskDone(checkpoint, t))
}

// requestID names a change for the journey workflow (its Temporal update
// ID, and the seed of its note's ID): the caller's Idempotency-Key, which is
// theirs alone, prefixed with who they are. Without the prefix, a coach's
// and a participant's requests to one journey with the same key would be
// one update to Temporal, and the second would get the first's answer.
func requestID(r *http.Request) string {
	return principal(r).PersonID.String() + "/" + r.Header.Get(idempotency.Header)
}

// journeyChange serves a change to the journey in the path: act runs only
// if the caller may see the journey and the body decodes into B.
func journeyChange[B any](h *handler, act func(http.ResponseWriter, *http.Request, store.JourneySnapshot, B)) endpoint {
	return taking[B](func(w http.ResponseWriter, r *http.Request) {
		j, ok := h.visibleJourney(w, r)
		var body B
		if ok && decodeBody(w, r, &body) {
			act(w, r, j, body)
		}
	})
}

// pathChange serves a change to the intake or person whose ID is in the
// path (what names it in errors: "an intake"): act runs only if the ID
// parses and the body decodes into B.
func pathChange[B any](what string, act func(http.ResponseWriter, *http.Request, uuid.UUID, B)) endpoint {
	return taking[B](func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id", what)
		var body B
		if ok && decodeBody(w, r, &body) {
			act(w, r, id, body)
		}
	})
}

// decodeBody decodes r's JSON body into body; a B of struct{} (a change
// that takes nothing) or whose fields are all optional (optionalFields)
// also accepts an empty body, as {}.
func decodeBody[B any](w http.ResponseWriter, r *http.Request, body *B) bool {
	_, none := any(*body).(struct{})
	_, optional := any(*body).(optionalFields)
	if (none || optional) && r.ContentLength == 0 {
		return true
	}
	return decodeJSON(w, r, body, 0)
}

// optionalFields is a request body whose fields may all be left out, so
// no body is {}: its handler says what it lacks.
type optionalFields interface{ optionalFields() }

// Done is the answer of a change with nothing more to say.
type Done struct {
	Done bool `json:"done" openapi:"enum=true"`
}

// answer writes ok as 200 JSON, or the problem err is.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, what string, err error, ok any) {
	if err != nil {
		h.fail(w, r, what, err)
		return
	}
	if d, isDone := ok.(Done); isDone {
		d.Done = true
		ok = d
	}
	writeJSON(w, http.StatusOK, ok)
}
