package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// The methods of people, intakes and notes (queries/people.sql).

func (s *Store) CreatePeople(ctx context.Context, people []store.Person) error {
	rows, err := store.PreparePeople(people, now())
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return s.b.InTx(ctx, func(tx DB) error {
		return createPeople(rows, func(p store.Person) (bool, error) {
			return changed(ctx, tx, s.q.InsertPerson, p.ID, string(p.Role), p.GivenName, p.FamilyName, p.EmailAddress,
				p.LocalAuthority, p.Theme, string(p.Language), p.CreatedAt, store.EmailKey(p.EmailAddress))
		}, func(id uuid.UUID) (store.Person, error) {
			return ScanPerson(tx.QueryRow(ctx, s.q.GetPerson, id))
		})
	})
}

func (s *Store) GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error) {
	p, err := ScanPerson(s.b.Read.QueryRow(ctx, s.q.GetPerson, id))
	if err != nil {
		return store.Person{}, NotFound(err, "person", id)
	}
	return p, nil
}

func (s *Store) FindPersonByEmail(ctx context.Context, email string) (store.Person, error) {
	p, err := ScanPerson(s.b.Read.QueryRow(ctx, s.q.FindPersonByEmail, store.EmailKey(email)))
	if err != nil {
		return store.Person{}, NotFound(err, "person with e-mail address", fmt.Sprintf("%q", email))
	}
	return p, nil
}

func (s *Store) ListPeople(ctx context.Context, role store.Role) ([]store.Person, error) {
	out, err := list(ctx, s.b.Read, ScanPerson, s.q.ListPeople, string(role))
	return out, failing(err, "listing people")
}

func (s *Store) SetLanguage(ctx context.Context, personID uuid.UUID, lang store.Language) error {
	if err := store.ValidateLanguage(lang); err != nil {
		return fmt.Errorf("setting the language of person %s: %w", personID, err)
	}
	found, err := changed(ctx, s.b.Write, s.q.SetLanguage, string(lang), personID)
	if err != nil {
		return fmt.Errorf("setting the language of person %s: %w", personID, err)
	}
	if !found {
		return fmt.Errorf("person %s: %w", personID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) CreateIntake(ctx context.Context, in store.Intake) error {
	in, err := store.PrepareIntake(in, now())
	if err != nil {
		return err
	}
	return s.b.InTx(ctx, func(tx DB) error {
		return createIntake(in, func() (bool, error) {
			return changed(ctx, tx, s.q.InsertIntake, in.ID, in.Name, in.ProgrammeID, in.ProgrammeVersion,
				NullTime(in.OpensAt), NullTime(in.ClosesAt), NullTime(in.StartsOn), in.Capacity,
				NullUUID(in.CoordinatorID), string(in.Status), in.CreatedAt)
		}, func() (store.Intake, error) {
			return ScanIntake(tx.QueryRow(ctx, s.q.GetIntake, in.ID))
		})
	})
}

func (s *Store) GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error) {
	in, err := ScanIntake(s.b.Read.QueryRow(ctx, s.q.GetIntake, id))
	if err != nil {
		return store.Intake{}, NotFound(err, "intake", id)
	}
	return in, nil
}

func (s *Store) UpdateIntake(ctx context.Context, id uuid.UUID, name string, capacity int) error {
	return updateIntake(id, name, capacity, func(name string) (bool, error) {
		return changed(ctx, s.b.Write, s.q.UpdateIntake, name, capacity, id)
	})
}

func (s *Store) ListIntakes(ctx context.Context) ([]store.Intake, error) {
	out, err := list(ctx, s.b.Read, ScanIntake, s.q.ListIntakes)
	return out, failing(err, "listing intakes")
}

func (s *Store) SaveNote(ctx context.Context, n store.Note) error {
	n, err := store.PrepareNote(n, now())
	if err != nil {
		return err
	}
	return s.b.InTx(ctx, func(tx DB) error {
		return saveNote(n, func() (bool, error) {
			return changed(ctx, tx, s.q.InsertNote, n.ID, n.AuthorID, NullUUID(n.JourneyID), n.Body, n.CreatedAt)
		}, func() (store.Note, error) {
			return ScanNote(tx.QueryRow(ctx, s.q.GetNote, n.ID))
		})
	})
}

func (s *Store) DeleteNote(ctx context.Context, id uuid.UUID) error {
	_, err := s.b.Write.Exec(ctx, s.q.DeleteNote, id)
	return err
}

func (s *Store) GetNote(ctx context.Context, id uuid.UUID) (store.Note, error) {
	n, err := ScanNote(s.b.Read.QueryRow(ctx, s.q.GetNote, id))
	if err != nil {
		return store.Note{}, NotFound(err, "note", id)
	}
	return n, nil
}

func (s *Store) NotesOfJourney(ctx context.Context, journeyID uuid.UUID) ([]store.Note, error) {
	out, err := list(ctx, s.b.Read, ScanNote, s.q.NotesOfJourney, journeyID)
	return out, failing(err, "listing notes of journey %s", journeyID)
}
