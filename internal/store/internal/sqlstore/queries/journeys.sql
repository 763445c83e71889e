-- What people see of journeys: the projection rows, with what lists join
-- to them. The roster's pages are made in Go (Roster), as a page's bounds
-- change the query's shape.

-- name: GetJourney
SELECT {{.Journey}} FROM journeys WHERE journey_id = $1

-- name: ListJourneys
SELECT {{.Journey}} FROM journeys WHERE intake_id = $1 ORDER BY journey_id

-- name: JourneysOfPerson
-- In the order they began: by their first event.
SELECT {{.Journey}} FROM journeys j WHERE j.person_id = $1
ORDER BY (SELECT min(e.seq) FROM events e WHERE e.journey_id = j.journey_id), j.journey_id

-- name: JourneysOfCoach
-- With their checkpoints, for the inbox, in the order they began.
SELECT {{.CoachJourney}} FROM journeys j WHERE j.coach_id = $1
ORDER BY (SELECT min(e.seq) FROM events e WHERE e.journey_id = j.journey_id), j.journey_id

-- name: Caseload
-- A coach's journeys, in the order of JourneysOfCoach, with their intakes'
-- names and their people.
SELECT {{.Qualified "j" .CoachJourney}}, COALESCE(i.name, ''),
	p.id IS NOT NULL, COALESCE(p.given_name, ''), COALESCE(p.family_name, ''),
	COALESCE(p.local_authority, ''), COALESCE(p.theme, ''), p.erased_at IS NOT NULL, COALESCE(p.email, '')
FROM journeys j LEFT JOIN people p ON p.id = j.person_id LEFT JOIN intakes i ON i.id = j.intake_id
WHERE j.coach_id = $1
ORDER BY (SELECT min(e.seq) FROM events e WHERE e.journey_id = j.journey_id), j.journey_id

-- name: JourneyOutcomes
-- One row per journey of the intake. The counts are journey_totals', kept
-- by triggers as journey_items change (migration 00013).
SELECT j.journey_id, j.state, j.outcome, COALESCE(p.local_authority, ''), COALESCE(p.theme, ''),
	COALESCE(t.attended, 0), COALESCE(t.completed, 0), e.ended_at
FROM journeys j LEFT JOIN people p ON p.id = j.person_id LEFT JOIN journey_ends e ON e.journey_id = j.journey_id
LEFT JOIN journey_totals t ON t.journey_id = j.journey_id
WHERE j.intake_id = $1
ORDER BY j.journey_id

-- name: IntakeCounts
SELECT state, count(*) FROM journeys WHERE intake_id = $1 GROUP BY state

-- name: TallyJourneys
-- Every intake's journeys, counted by authority, theme, state and outcome.
SELECT COALESCE(p.local_authority, ''), COALESCE(p.theme, ''), j.state, j.outcome, count(*)
FROM journeys j LEFT JOIN people p ON p.id = j.person_id
GROUP BY 1, 2, 3, 4

-- name: TallyIntakeJourneys
-- TallyJourneys for the intake $1.
SELECT COALESCE(p.local_authority, ''), COALESCE(p.theme, ''), j.state, j.outcome, count(*)
FROM journeys j LEFT JOIN people p ON p.id = j.person_id WHERE j.intake_id = $1
GROUP BY 1, 2, 3, 4
