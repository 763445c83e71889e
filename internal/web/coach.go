package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/workflows"
)

// inbox is a coach's start page: their open checkpoints, overdue first,
// and their participants.
func (s *server) inbox(w http.ResponseWriter, r *http.Request) {
	in, err := s.svc.Views.CoachInbox(r.Context(), principal(r).PersonID)
	if err != nil {
		s.serverError(w, r, "building your inbox", err)
		return
	}
	for _, u := range in.Unavailable {
		s.workflowUnavailable(r, u.JourneyID, u.Cause)
	}
	p := s.newPage(r, "inbox.title")
	p.journeyProgrammes = map[uuid.UUID]*programme.Programme{}
	byIntake := map[uuid.UUID]*programme.Programme{}
	for _, j := range in.Journeys {
		prog, ok := byIntake[j.IntakeID]
		if !ok {
			prog = s.intakeProgramme(r, j.IntakeID)
			byIntake[j.IntakeID] = prog
		}
		p.journeyProgrammes[j.JourneyID] = prog
	}
	p.Data = in
	s.render(w, r, http.StatusOK, "inbox", p)
}

// checkpointData is the body of the checkpoint form.
type checkpointData struct {
	Journey    views.JourneyDetail
	Checkpoint workflows.ItemView
	// Open says whether the form can be sent: the checkpoint has opened
	// and is not completed.
	Open    bool
	Notes   string
	Status  workflows.RAG
	Ratings []workflows.RAG
}

// checkpoint finds the journey and checkpoint of the path, or answers 404.
func (s *server) checkpoint(w http.ResponseWriter, r *http.Request) (checkpointData, bool) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return checkpointData{}, false
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		s.notFound(w, r)
		return checkpointData{}, false
	}
	d, err := s.svc.Views.JourneyDetail(r.Context(), j.JourneyID)
	if err != nil {
		s.serverError(w, r, "reading the journey", err)
		return checkpointData{}, false
	}
	s.workflowUnavailable(r, j.JourneyID, d.LiveCause)
	data := checkpointData{Journey: d, Ratings: []workflows.RAG{workflows.RAGGreen, workflows.RAGAmber, workflows.RAGRed}}
	if d.Live == nil {
		s.notFound(w, r) // an ended journey takes no more checkpoints
		return data, false
	}
	id := "checkpoint/" + strconv.Itoa(n)
	for _, c := range d.Live.Checkpoints {
		if c.ID == id {
			data.Checkpoint = c
			data.Open = c.CompletedAt.IsZero() && !c.OpensAt.After(time.Now())
			return data, true
		}
	}
	s.notFound(w, r)
	return data, false
}

func (s *server) checkpointForm(w http.ResponseWriter, r *http.Request) {
	data, ok := s.checkpoint(w, r)
	if !ok {
		return
	}
	s.renderCheckpoint(w, r, http.StatusOK, data, nil)
}

func (s *server) renderCheckpoint(w http.ResponseWriter, r *http.Request, status int, data checkpointData, errs []fieldError) {
	p := s.newPage(r, "checkpoint.title")
	p.programme = pinned(data.Journey.Live.ProgrammeID, data.Journey.Live.ProgrammeVersion) // checkpoint insists on a live journey
	p.Title = p.Item(data.Checkpoint.ID) + ": " + data.Journey.Participant.Name
	p.Errors = errs
	p.Data = data
	s.render(w, r, status, "checkpoint", p)
}

// completeCheckpoint records the coach's notes and rating. Mistakes and
// refusals come back on the form, with what was typed kept.
func (s *server) completeCheckpoint(w http.ResponseWriter, r *http.Request) {
	data, ok := s.checkpoint(w, r)
	if !ok {
		return
	}
	data.Notes = r.PostFormValue("notes")
	data.Status = workflows.RAG(r.PostFormValue("status"))
	c := checks{lang: pageLang(r)}
	c.require(strings.TrimSpace(data.Notes) != "", "notes", "checkpoint.notes.missing")
	c.require(validRating(data.Status), "status-green", "checkpoint.status.missing")
	again := func(status int, errs []fieldError) { s.renderCheckpoint(w, r, status, data, errs) }
	if len(c.errs) > 0 {
		again(http.StatusUnprocessableEntity, c.errs)
		return
	}
	_, err := s.svc.Commands.CompleteCheckpoint(r.Context(), commands.Checkpoint{
		JourneyID: data.Journey.Journey.JourneyID, CheckpointID: data.Checkpoint.ID, CoachID: principal(r).PersonID,
		Notes: data.Notes, Status: data.Status,
		// A retry the middleware did not catch (a crash between acting and
		// storing the answer) is still caught by the journey, which
		// completes a checkpoint once per request ID.
		RequestID: requestID(r),
	})
	s.finishForm(w, r, err, again, "/", "checkpoint")
}

func validRating(s workflows.RAG) bool {
	return s == workflows.RAGGreen || s == workflows.RAGAmber || s == workflows.RAGRed
}
