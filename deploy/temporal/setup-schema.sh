#!/bin/sh
# Run once by docker-compose.yml's temporal-schema job (temporalio/admin-tools,
# the server's release) before the Temporal server starts: creates Temporal's two
# PostgreSQL databases if they are missing and brings both schemas to the
# versions the image ships. Every step is safe to repeat, so the job runs on every
# `docker compose up`; after a move to a newer server release (images and go.mod
# together), it is what upgrades the schema.
#
# It reads the same variables as the server (DB, POSTGRES_SEEDS, DB_PORT,
# POSTGRES_USER, POSTGRES_PWD, DBNAME, VISIBILITY_DBNAME), so the two cannot
# disagree about where the databases are.
set -eu

: "${DB:?}" "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}" "${DBNAME:?}" "${VISIBILITY_DBNAME:?}"
# temporal-sql-tool reads its connection from SQL_*; the password this way stays
# out of the process list.
export SQL_PLUGIN="$DB" SQL_HOST="$POSTGRES_SEEDS" SQL_PORT="${DB_PORT:-5432}" \
	SQL_USER="$POSTGRES_USER" SQL_PASSWORD="$POSTGRES_PWD"
schemas=/etc/temporal/schema/postgresql/v12

setup() { # database, schema directory under $schemas
	echo "temporal-schema: $1 <- $schemas/$2/versioned"
	temporal-sql-tool --db "$1" create-database
	# Version tables and version 0.0 only where there are none yet; a database
	# already past 0.0 is left as it is.
	temporal-sql-tool --db "$1" setup-schema -v 0.0
	temporal-sql-tool --db "$1" update-schema -d "$schemas/$2/versioned"
}

setup "$DBNAME" temporal
setup "$VISIBILITY_DBNAME" visibility
echo "temporal-schema: done"
