package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac/sqlstore"
)

func newMigrateCmd(a *app) *cobra.Command {
	var status bool
	cmd := &cobra.Command{
		Use:   "migrate [--status]",
		Short: "Bring the database schema up to date, or show its version",
		Long: `migrate brings the schema of the database up to the version this rbac
makes, in one transaction. Every command does that when it opens the
database; migrate does it alone, say before rolling out a new version.

With --status it only reads: it shows the database's schema version and
this rbac's, and changes nothing (a SQLite file that does not exist is not
created).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			before, known, err := a.schemaStatus(ctx)
			if err != nil {
				return err
			}
			after := before
			if !status {
				if _, err := a.open(ctx); err != nil {
					return err
				}
				after = known
			}
			if a.json() {
				return writeJSON(a.stdout, struct {
					Version int `json:"version"`
					Known   int `json:"known"`
					Applied int `json:"applied"`
				}{after, known, after - before})
			}
			switch {
			case !status:
				fmt.Fprintf(a.stdout, "schema at version %d (applied %d migrations)\n", after, after-before)
			case before == known:
				fmt.Fprintf(a.stdout, "schema at version %d, up to date\n", before)
			case before < known:
				fmt.Fprintf(a.stdout, "schema at version %d; this rbac makes version %d: run rbac migrate\n", before, known)
			default:
				fmt.Fprintf(a.stdout, "schema at version %d, newer than this rbac's %d: upgrade rbac\n", before, known)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&status, "status", false, "show the schema version and change nothing")
	return cmd
}

// schemaStatus reads the database's schema version without changing
// anything: a SQLite file is opened read-only, and one that does not
// exist is version 0.
func (a *app) schemaStatus(ctx context.Context) (current, known int, err error) {
	if isPostgres(a.db) {
		db, err := sql.Open("pgx", a.db)
		if err != nil {
			return 0, 0, openError(redact(a.db), err)
		}
		defer db.Close()
		current, known, err = sqlstore.SchemaStatus(ctx, db, sqlstore.PostgreSQL)
		if err != nil {
			return 0, 0, openError(redact(a.db), err)
		}
		return current, known, nil
	}
	if _, err := os.Stat(a.db); errors.Is(err, fs.ErrNotExist) {
		return 0, sqlstore.SQLite.SchemaVersion(), nil
	}
	abs, err := filepath.Abs(a.db)
	if err != nil {
		return 0, 0, openError(a.db, err)
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return 0, 0, openError(a.db, err)
	}
	defer db.Close()
	current, known, err = sqlstore.SchemaStatus(ctx, db, sqlstore.SQLite)
	if err != nil {
		return 0, 0, openError(a.db, err)
	}
	return current, known, nil
}
