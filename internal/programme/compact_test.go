package programme

import (
	"encoding/json"
	"reflect"
	"testing"
	"unsafe"
)

// A schedule decoded from JSON, as a workflow gets it, and compacted is
// the same schedule, with lists no longer than they are and the strings
// of two journeys' schedules in one copy.
func TestCompactChangesNoValue(t *testing.T) {
	planned := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1)})
	data, err := json.Marshal(planned)
	if err != nil {
		t.Fatal(err)
	}
	decode := func() Schedule {
		var s Schedule
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := decode(), decode()
	a.Compact()
	b.Compact()
	if !reflect.DeepEqual(a, decode()) {
		t.Fatalf("Compact changed the schedule:\n%+v\nwant\n%+v", a, decode())
	}
	if cap(a.Items) != len(a.Items) || cap(a.Items[0].Reminders) != len(a.Items[0].Reminders) {
		t.Errorf("compacted lists have room to spare: %d items in %d, %d reminders in %d",
			len(a.Items), cap(a.Items), len(a.Items[0].Reminders), cap(a.Items[0].Reminders))
	}
	same := func(what, x, y string) {
		if unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s %q is in two copies after Compact", what, x)
		}
	}
	last := len(a.Items) - 1
	same("an item ID", a.Items[last].ID, b.Items[last].ID)
	same("a phase", a.Items[last].Phase, b.Items[last].Phase)
	same("a reminder key", a.Items[0].Reminders[0].Key, b.Items[0].Reminders[0].Key)
	same("a template", a.Items[0].Reminders[0].Template, b.Items[0].Reminders[0].Template)
	same("a phase key", a.Phases[0].Key, b.Phases[0].Key)
	if a := decode(); unsafe.StringData(a.Items[0].ID) == unsafe.StringData(b.Items[0].ID) {
		t.Fatal("decoded schedules share their strings already: the test shows nothing")
	}
}
