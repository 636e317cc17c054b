package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/sqlstore"
)

// seedForDump writes a little of everything Dump reads into s: a custom
// role, two project links, a restriction, and bindings of both kinds,
// one of them changed so that its timestamps differ.
func seedForDump(tb testing.TB, s *sqlstore.Store) {
	tb.Helper()
	is := is.New(tb)
	ctx := tb.Context()
	custom, err := s.CreateRole(ctx, rbac.NewRole{Name: "auditor", Description: "reads", Permissions: []string{"SPACE_READ", "PROJECT_READ"}})
	is.NoErr(err) // create role
	is.NoErr(s.SetProjectSpace(ctx, projectID(1), spaceID(1)))
	is.NoErr(s.SetProjectSpace(ctx, projectID(2), spaceID(1)))
	is.NoErr(s.RestrictProject(ctx, projectID(2)))
	var nbs []rbac.NewBinding
	for u := range 30 {
		nbs = append(nbs, newBinding(u, u%3, 1))
	}
	nbs = append(nbs, rbac.NewBinding{RoleID: custom.ID, UserID: userID(99), ResourceType: rbac.Project, ResourceID: projectID(2)})
	res, err := s.CreateBatch(ctx, nbs, sqlstore.BatchOptions{AllOrNothing: true})
	is.NoErr(err) // create batch
	for _, r := range res {
		is.NoErr(r.Err) // batch item
	}
	_, err = s.ChangeRole(ctx, res[0].Binding.ID, rbac.RoleChange{RoleID: roleID(2)})
	is.NoErr(err) // change role
}

// dump returns every record of s.
func dump(tb testing.TB, s *sqlstore.Store) []sqlstore.Record {
	tb.Helper()
	var out []sqlstore.Record
	_, err := s.Dump(tb.Context(), func(r sqlstore.Record) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		tb.Fatalf("dump: %v", err)
	}
	return out
}

// restore runs Restore in a transaction of its own, committed only when
// every record was written.
func restore(tb testing.TB, s *sqlstore.Store, recs []sqlstore.Record) []error {
	tb.Helper()
	ctx := tb.Context()
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		tb.Fatalf("begin: %v", err)
	}
	errs, err := s.WithTx(tx).Restore(ctx, recs)
	if err != nil {
		tx.Rollback()
		tb.Fatalf("restore: %v", err)
	}
	if errors.Join(errs...) != nil {
		if err := tx.Rollback(); err != nil {
			tb.Fatalf("rollback: %v", err)
		}
		return errs
	}
	if err := tx.Commit(); err != nil {
		tb.Fatalf("commit: %v", err)
	}
	return errs
}

func TestRestore(t *testing.T) {
	// Both stores on one clock, so that the predefined roles' timestamps,
	// which the catalogue owns, are alike too.
	// The engines run in parallel: each gets a clock of its own.
	clocks := map[string]func() time.Time{}
	for _, e := range engines {
		at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clocks[e.name] = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			at = at.Add(time.Millisecond)
			return at
		}
	}
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		clock := clocks[e.name]
		src := e.open(t, sqlstore.Options{Now: clock})
		seedForDump(t, src)
		recs := dump(t, src)
		is.Equal(len(recs), len(testCatalogue())+1+2+1+31) // roles, links, restriction, bindings

		dst := e.open(t, sqlstore.Options{Now: clock})
		for i, err := range restore(t, dst, recs) {
			is.NoErr(err) // record restored
			_ = i
		}
		got := dump(t, dst)
		// Predefined roles keep the target's own timestamps.
		for i := range got {
			if got[i].Role.Predefined {
				got[i].Role.CreatedAt, got[i].Role.UpdatedAt = recs[i].Role.CreatedAt, recs[i].Role.UpdatedAt
			}
		}
		is.Equal(got, recs) // every ID and timestamp as it was

		// The feed has the restored records for a follower.
		rev, err := dst.Revision(t.Context())
		is.NoErr(err)
		is.True(rev > 0)

		t.Run("again: every role and binding conflicts, nothing is written", func(t *testing.T) {
			is := is.New(t)
			before, err := dst.Revision(t.Context())
			is.NoErr(err)
			errs := restore(t, dst, recs)
			for i, r := range recs {
				switch {
				case r.Kind == sqlstore.BindingRecord || r.Kind == sqlstore.RoleRecord && !r.Role.Predefined:
					is.True(errors.Is(errs[i], rbac.ErrConflict)) // taken ID
				default:
					is.NoErr(errs[i]) // the same link, restriction, predefined role
				}
			}
			after, err := dst.Revision(t.Context())
			is.NoErr(err)
			is.Equal(before, after) // rolled back
		})
	})
}

func TestRestoreBadRecords(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		s := e.open(t, sqlstore.Options{})
		at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		b := func(id, user int, role string) sqlstore.Record {
			return sqlstore.Record{Kind: sqlstore.BindingRecord, Binding: rbac.Binding{
				ID: ids.Encode("RoleBinding", fmt.Sprint(id), "b"), RoleID: role, UserID: userID(user),
				ResourceType: rbac.Space, ResourceID: spaceID(1), CreatedAt: at, UpdatedAt: at}}
		}
		noTime := b(3, 3, roleID(1))
		noTime.Binding.CreatedAt = time.Time{}
		backwards := b(4, 4, roleID(1))
		backwards.Binding.UpdatedAt = at.Add(-time.Second)
		recs := []sqlstore.Record{
			b(1, 1, roleID(1)),
			b(1, 2, roleID(1)),                      // the ID of the line before
			b(2, 1, roleID(1)),                      // the user's second binding on the space
			noTime,                                  // no created_at
			backwards,                               // updated before created
			b(5, 5, ids.Encode("Role", "777", "x")), // no such role
			{Kind: sqlstore.RoleRecord, Role: rbac.Role{ID: roleID(1), Name: "changed", Permissions: []string{"SPACE_READ"}, Predefined: true, CreatedAt: at, UpdatedAt: at}},
			{Kind: "widget"},
		}
		want := []error{nil, rbac.ErrConflict, rbac.ErrConflict, rbac.ErrInvalid, rbac.ErrInvalid, rbac.ErrNotFound, rbac.ErrConflict, rbac.ErrInvalid}
		errs := restore(t, s, recs)
		for i := range recs {
			if want[i] == nil {
				is.NoErr(errs[i])
				continue
			}
			if !errors.Is(errs[i], want[i]) {
				t.Errorf("record %d: got %v, want %v", i, errs[i], want[i])
			}
		}
		is.Equal(count(t, s), 0) // rolled back
	})
}

// TestRestoreBulk restores more bindings than a bulk load's threshold,
// where SQLite sets the row triggers aside, and checks that the triggers
// are back and the used-ID rule still held.
func TestRestoreBulk(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		src := e.open(t, sqlstore.Options{})
		nbs := make([]rbac.NewBinding, 2500)
		for i := range nbs {
			nbs[i] = newBinding(i, i%7, 1)
		}
		res, err := src.CreateBatch(ctx, nbs, sqlstore.BatchOptions{})
		is.NoErr(err)
		is.NoErr(src.Delete(ctx, res[7].Binding.ID)) // retires an ID
		recs := dump(t, src)

		dst := e.open(t, sqlstore.Options{})
		is.NoErr(errors.Join(restore(t, dst, recs)...))
		is.Equal(count(t, dst), len(nbs)-1)
		// A retired ID of the source is a fresh one here; in the source
		// itself it is refused.
		retired := sqlstore.Record{Kind: sqlstore.BindingRecord, Binding: res[7].Binding}
		errs := restore(t, src, []sqlstore.Record{retired})
		is.True(errors.Is(errs[0], rbac.ErrConflict)) // used before
		if e.dialect == sqlstore.SQLite {
			var n int
			is.NoErr(dst.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'rbac_role_bindings'").Scan(&n))
			is.Equal(n, 5) // every trigger back
		}
	})
}
