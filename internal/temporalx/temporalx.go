// Package temporalx holds the Temporal plumbing shared by every process of
// Infuse Journeys (dev mode, worker, api, coordinator CLI) and by their tests:
// the task queue name, the custom search attributes operators use to find
// journeys (intake, phase, coach — never personal data), their registration
// on a namespace, and client options read from Temporal's standard
// environment configuration. Keeping them in one place stops the worker and
// the starter from drifting apart on names.
package temporalx

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// TaskQueue is the task queue that the Infuse worker polls and that every
// workflow of the system is started on.
const TaskQueue = "infuse-journeys"

// Custom search attributes set by the workflows. Values are opaque IDs and
// phase names, never personal data (histories and visibility are not
// erasable per person).
var (
	// IntakeIDKey is the intake (cohort) a workflow belongs to.
	IntakeIDKey = temporal.NewSearchAttributeKeyKeyword("InfuseIntakeId")
	// PhaseKey is the programme phase a journey or intake is in.
	PhaseKey = temporal.NewSearchAttributeKeyKeyword("InfusePhase")
	// CoachIDKey is the coach assigned to a journey.
	CoachIDKey = temporal.NewSearchAttributeKeyKeyword("InfuseCoachId")
)

// Keys returns the custom search attribute keys, in a stable order.
func Keys() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{IntakeIDKey, PhaseKey, CoachIDKey}
}

// SearchAttributes returns the custom search attributes by name and type, in
// the form the server's registration APIs take.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	m := make(map[string]enumspb.IndexedValueType, 3)
	for _, k := range Keys() {
		m[k.GetName()] = k.GetValueType()
	}
	return m
}

// RegisterSearchAttributes makes sure the Infuse search attributes exist on
// namespace. It is idempotent: attributes already registered with the same
// type are left alone. See AddSearchAttributes.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	return AddSearchAttributes(ctx, c, namespace, SearchAttributes())
}

// registrationWait bounds how long AddSearchAttributes waits for newly added
// attributes to become visible (the frontend refreshes its namespace cache
// every few seconds).
const registrationWait = 30 * time.Second

// AddSearchAttributes registers the given custom search attributes on
// namespace through the operator service, skipping those that already exist
// with the same type, and waits until the server reports all of them, so
// that workflows started right after can use them. An attribute that exists
// with a different type is an error: it cannot be changed in place.
func AddSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	if len(attrs) == 0 {
		return nil
	}
	if namespace == "" {
		namespace = client.DefaultNamespace
	}
	ops := c.OperatorService()
	existing, err := listSearchAttributes(ctx, ops, namespace)
	if err != nil {
		return err
	}
	missing, err := missingAttributes(existing, attrs)
	if err != nil {
		return fmt.Errorf("temporalx: namespace %q: %w", namespace, err)
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("temporalx: adding search attributes %s to namespace %q: %w",
			strings.Join(sortedNames(missing), ", "), namespace, err)
	}

	waitCtx, cancel := context.WithTimeout(ctx, registrationWait)
	defer cancel()
	for {
		existing, err = listSearchAttributes(waitCtx, ops, namespace)
		if err == nil {
			missing, err = missingAttributes(existing, attrs)
			if err == nil && len(missing) == 0 {
				return nil
			}
		}
		select {
		case <-waitCtx.Done():
			if err == nil {
				err = fmt.Errorf("still missing %s", strings.Join(sortedNames(missing), ", "))
			}
			return fmt.Errorf("temporalx: search attributes on namespace %q not visible after registration: %w", namespace, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func listSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, namespace string) (map[string]enumspb.IndexedValueType, error) {
	resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("temporalx: listing search attributes of namespace %q: %w", namespace, err)
	}
	all := make(map[string]enumspb.IndexedValueType, len(resp.GetSystemAttributes())+len(resp.GetCustomAttributes()))
	for k, v := range resp.GetSystemAttributes() {
		all[k] = v
	}
	for k, v := range resp.GetCustomAttributes() {
		all[k] = v
	}
	return all, nil
}

// missingAttributes returns the attributes of want that are not in have, or
// an error naming those that are there with another type.
func missingAttributes(have, want map[string]enumspb.IndexedValueType) (map[string]enumspb.IndexedValueType, error) {
	missing := map[string]enumspb.IndexedValueType{}
	var conflicts []string
	for name, typ := range want {
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = typ
		case got != typ:
			conflicts = append(conflicts, fmt.Sprintf("%s is %s, want %s", name, got, typ))
		}
	}
	if len(conflicts) > 0 {
		sort.Strings(conflicts)
		return nil, fmt.Errorf("search attributes registered with another type (%s); remove them or use new names",
			strings.Join(conflicts, "; "))
	}
	return missing, nil
}

func isAlreadyExists(err error) bool {
	var ae *serviceerror.AlreadyExists
	if errors.As(err, &ae) {
		return true
	}
	// Older servers answered InvalidArgument "Search attribute X already exists".
	return strings.Contains(strings.ToLower(err.Error()), "already exists")
}

func sortedNames(m map[string]enumspb.IndexedValueType) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
