package programme

import "unique"

// Compact makes s take as little memory as it can without changing any of
// its values: every list exactly as long as it is, and each string shared
// with every other schedule that has the same one. All of a schedule's
// strings (item IDs, phases, reminder keys, templates, roles) come from
// its programme, so thousands of journeys of one programme repeat them,
// and a schedule decoded from JSON has a copy of each and lists grown by
// doubling. A worker keeps the schedule of every journey in its cache:
// decoded as it came, a journey's was a third of its memory.
func (s *Schedule) Compact() {
	s.ProgrammeID = shared(s.ProgrammeID)
	s.Phases = exactly(s.Phases)
	for i := range s.Phases {
		p := &s.Phases[i]
		p.Key, p.Lab = shared(p.Key), shared(p.Lab)
	}
	s.Items = exactly(s.Items)
	for i := range s.Items {
		it := &s.Items[i]
		it.ID, it.Kind, it.Phase, it.Assignee = shared(it.ID), shared(it.Kind), shared(it.Phase), shared(it.Assignee)
		it.Reminders = compactReminders(it.Reminders)
	}
}

func compactReminders(rs []Reminder) []Reminder {
	rs = exactly(rs)
	for i := range rs {
		r := &rs[i]
		r.Key, r.Trigger, r.Recipient = shared(r.Key), shared(r.Trigger), shared(r.Recipient)
		r.Template, r.Channel = shared(r.Template), shared(r.Channel)
	}
	return rs
}

// shared is the process's one copy of v (unique.Make: a copy nothing uses
// any more is collected).
func shared[S ~string](v S) S { return unique.Make(v).Value() }

// exactly is a copy of s with no room to spare (nil for nil).
func exactly[T any](s []T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	copy(out, s)
	return out
}
