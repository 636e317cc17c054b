package sqlstore

import (
	"context"
	"database/sql"
)

// SetNewID replaces the store's binding ID generator, so that tests can
// hand it an ID that was used before.
func SetNewID(s *Store, f func() (string, error)) { s.newID = f }

// MigrateTo brings the schema of db up to version v and no further, to
// make databases as older versions of the package left them.
func MigrateTo(ctx context.Context, db *sql.DB, d *Dialect, v int) error {
	_, err := migrate(ctx, db, d, v)
	return err
}
