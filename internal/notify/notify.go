// Package notify turns an outbox message into the e-mail a person receives,
// at send time: the recipient's name, address and language from the store
// (never from Temporal), the Welsh and/or English text from the programme's
// templates (package messages), a calendar invite (package calendar) for
// a session still ahead or one withdrawn, and, for a participant who has
// completed, their certificate (package certificate). It is the
// delivery.Composer the worker and dev mode use.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/calendar"
	"github.com/infuse-cymru/journeys/internal/certificate"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Composer builds e-mails from outbox messages.
type Composer struct {
	// Store is read for the recipient, and the intake and journey a
	// message is about, as they are at send time; and for the journey's
	// certificate, issued on its first completion message.
	Store certificate.Records
	// From is the programme's sending address, also the invites' organiser.
	From delivery.Address
	// Unrendered leaves the certificate's PDF out of its attachment, which
	// keeps its name and type: for the preview, which counts e-mails and
	// sends none, and for which rendering a thousand PDFs was a fifth of
	// its time. The certificate is still issued.
	Unrendered bool
}

var _ delivery.Composer = (*Composer)(nil)

// Compose renders m for its recipient. A recipient or intake that is gone
// fails the message for good; the store being unreachable is temporary.
func (c *Composer) Compose(ctx context.Context, m store.Message) (delivery.Email, error) {
	to, err := c.person(ctx, m.RecipientID, "recipient")
	if err != nil {
		return delivery.Email{}, err
	}
	intake, err := c.Store.GetIntake(ctx, m.IntakeID)
	if err != nil {
		return delivery.Email{}, storeFailure(err, "intake", m.IntakeID)
	}
	cat, err := messages.Load(intake.ProgrammeID, intake.ProgrammeVersion)
	if err != nil {
		return delivery.Email{}, delivery.Permanent(err)
	}
	data, err := c.data(ctx, m, to, intake)
	if err != nil {
		return delivery.Email{}, err
	}
	r, err := cat.Render(m.Template, to.Language, data)
	if err != nil {
		return delivery.Email{}, delivery.Permanent(err)
	}
	e := delivery.Email{
		From:    c.From,
		To:      delivery.Address{Name: fullName(to), Address: to.EmailAddress},
		Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		Headers: map[string]string{"Auto-Submitted": "auto-generated", "Content-Language": r.Language},
	}
	if invite, ok, err := c.invite(m, to, cat.Programme()); err != nil {
		return delivery.Email{}, delivery.Permanent(err)
	} else if ok {
		e.Attachments = append(e.Attachments, invite)
	}
	if m.Template == messages.Completion && m.Role == store.RoleParticipant {
		pdf, err := c.certificate(ctx, m)
		if err != nil {
			return delivery.Email{}, err
		}
		e.Attachments = append(e.Attachments, pdf)
	}
	return e, nil
}

// certificate is the completion certificate of the message's journey,
// issued now if this is the first time (the store keeps one per journey,
// so a retried message carries the same verification code).
func (c *Composer) certificate(ctx context.Context, m store.Message) (delivery.Attachment, error) {
	a := delivery.Attachment{Name: "certificate.pdf", ContentType: "application/pdf"}
	cert, _, err := certificate.ForJourney(ctx, c.Store, m.JourneyID)
	if err == nil {
		if c.Unrendered {
			err = certificate.Check(cert)
		} else {
			a.Data, err = certificate.Render(cert)
		}
	}
	if err == nil {
		return a, nil
	}
	err = fmt.Errorf("the completion certificate of journey %s: %w", m.JourneyID, err)
	if certificate.Permanent(err) {
		return delivery.Attachment{}, delivery.Permanent(err)
	}
	return delivery.Attachment{}, delivery.Temporary(err)
}

// data is what the templates may use, looked up now rather than stored.
func (c *Composer) data(ctx context.Context, m store.Message, to store.Person, intake store.Intake) (messages.Data, error) {
	d := messages.Data{
		RecipientGivenName: to.GivenName, IntakeName: intake.Name, IntakeStartsOn: intake.StartsOn,
		ItemID: m.ItemID, ItemStartsAt: m.ItemStartsAt, ItemEndsAt: m.ItemEndsAt,
	}
	if m.ItemID == "offer" {
		d.ItemID, d.RespondBy = "", m.ItemEndsAt
	}
	if m.JourneyID == uuid.Nil {
		return d, nil
	}
	j, err := c.Store.GetJourney(ctx, m.JourneyID)
	if err != nil {
		return d, storeFailure(err, "journey", m.JourneyID)
	}
	if m.Role != store.RoleParticipant {
		if d.ParticipantName, err = c.name(ctx, j.PersonID); err != nil {
			return d, err
		}
	}
	if m.Role == store.RoleCoordinator && j.CoachID != uuid.Nil {
		if d.CoachName, err = c.name(ctx, j.CoachID); err != nil {
			return d, err
		}
	}
	if m.Template == messages.NonCompletion {
		d.Unmet, err = c.unmet(ctx, m.JourneyID)
	}
	return d, err
}

// unmet reads the completion criteria not met from the journey's assessment event.
func (c *Composer) unmet(ctx context.Context, journeyID uuid.UUID) ([]string, error) {
	evs, err := c.Store.JourneyEvents(ctx, journeyID)
	if err != nil {
		return nil, delivery.Temporary(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type != "journey.not_completed" {
			continue
		}
		var o struct{ Unmet []string }
		if err := json.Unmarshal(evs[i].Data, &o); err != nil {
			return nil, delivery.Permanent(fmt.Errorf("reading the assessment of journey %s: %w", journeyID, err))
		}
		return o.Unmet, nil
	}
	return nil, nil
}

// invite is the calendar attachment for a message about a session that is
// still ahead (an invite or its update) or withdrawn (a cancellation).
// Sending the same invite twice is harmless: calendars match UID and SEQUENCE.
func (c *Composer) invite(m store.Message, to store.Person, p *programme.Programme) (delivery.Attachment, bool, error) {
	if m.Role != store.RoleParticipant || !p.IsSession(m.ItemID) || m.ItemStartsAt.IsZero() ||
		(!m.Cancels && !m.ItemStartsAt.After(m.SendAt)) {
		return delivery.Attachment{}, false, nil
	}
	ics, err := calendar.Invite(calendar.Event{
		UID: calendar.UID(m.JourneyID.String(), m.ItemID), Sequence: m.Revision, Cancel: m.Cancels,
		Start: m.ItemStartsAt, End: m.ItemEndsAt, Summary: ItemTitle(p, m.ItemID, to.Language),
		OrganizerName: c.From.Name, OrganizerEmail: c.From.Address,
		AttendeeName: fullName(to), AttendeeEmail: to.EmailAddress,
		Stamp: m.SendAt,
	})
	if err != nil {
		return delivery.Attachment{}, false, err
	}
	method := "REQUEST"
	if m.Cancels {
		method = "CANCEL"
	}
	return delivery.Attachment{
		Name: "invite.ics", ContentType: "text/calendar; charset=utf-8; method=" + method, Data: ics,
	}, true, nil
}

// ItemTitle names a session ("Data Lab: session 2") or a numbered task
// ("Coaching checkpoint 3") in lang; bilingual, Welsh first, when lang is
// not recorded. The e-mailed invites and the
// calendar download share it, so both name an item alike.
func ItemTitle(p *programme.Programme, itemID string, lang store.Language) string {
	name, _ := p.ItemName(itemID)
	cy, en := name.CY, name.EN
	if _, n, numbered := strings.Cut(itemID, "/"); numbered {
		if p.IsSession(itemID) {
			cy, en = cy+": sesiwn "+n, en+": session "+n
		} else {
			cy, en = cy+" "+n, en+" "+n
		}
	}
	switch lang {
	case store.LanguageWelsh:
		return cy
	case store.LanguageEnglish:
		return en
	}
	return cy + " / " + en
}

func (c *Composer) person(ctx context.Context, id uuid.UUID, what string) (store.Person, error) {
	p, err := c.Store.GetPerson(ctx, id)
	if err != nil {
		return store.Person{}, storeFailure(err, what, id)
	}
	return p, nil
}

func (c *Composer) name(ctx context.Context, id uuid.UUID) (string, error) {
	p, err := c.person(ctx, id, "person")
	return fullName(p), err
}

func fullName(p store.Person) string {
	return strings.TrimSpace(p.GivenName + " " + p.FamilyName)
}

// storeFailure: a row that is gone (an erased person) will not come back,
// so the message fails for good; anything else may pass on a retry.
func storeFailure(err error, what string, id uuid.UUID) error {
	if errors.Is(err, store.ErrNotFound) {
		return delivery.Permanent(fmt.Errorf("the %s %s is no longer in the store (erased?)", what, id))
	}
	return delivery.Temporary(fmt.Errorf("reading the %s %s: %w", what, id, err))
}
