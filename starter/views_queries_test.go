package starter_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
)

// personCounting is a real store that counts the people looked up one at
// a time.
type personCounting struct {
	store.Store
	gets atomic.Int64
}

func (s *personCounting) GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error) {
	s.gets.Add(1)
	return s.Store.GetPerson(ctx, id)
}

// A list of an intake's journeys names everyone on it without asking the
// store once a person: at 10,000 participants that was 10,000 queries.
func TestIntakeListsLookPeopleUpTogether(t *testing.T) {
	ctx := context.Background()
	st := &personCounting{Store: sqlitestore.OpenTest(t)}
	intake := seedIntake(ctx, t, st, 120)
	svc := starter.New(nil, st)
	views := map[string]func() error{
		"dashboard": func() error {
			d, err := svc.IntakeDashboard(ctx, intake)
			if err == nil && (len(d.Rows) != 120 || d.Rows[0].Name == "" || d.Rows[0].CoachName == "") {
				t.Errorf("the dashboard has %d rows: want 120, named, with their coaches: %+v", len(d.Rows), d.Rows)
			}
			return err
		},
		"by authority": func() error { _, err := svc.DashboardByAuthority(ctx, intake); return err },
		"outcomes CSV": func() error { return svc.WriteOutcomesCSV(ctx, intake, io.Discard) },
	}
	for name, view := range views {
		st.gets.Store(0)
		if err := view(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := st.gets.Load(); n > 1 { // the coordinator
			t.Errorf("the %s looked %d people up one at a time", name, n)
		}
	}
}
