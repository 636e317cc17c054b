package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/perm"
	"github.com/rolebind/rbac/sqlstore"
)

// The last-administrator rule across two processes sharing a database:
// the storetest group LastAdmin races goroutines on one Store; here a
// child process races the parent, so nothing the two share in memory
// can be what keeps the rule.

// openShared opens the parent's store on a database that a child process
// can open too, a SQLite file or a PostgreSQL schema of its own, and
// returns it with the name startChild needs to find that database.
func openShared(t *testing.T, e engine, opts sqlstore.Options) (*sqlstore.Store, string) {
	t.Helper()
	if e.dialect == sqlstore.SQLite {
		db := filepath.Join(t.TempDir(), "shared.db")
		return openSQLite(t, db, opts), db
	}
	db := newSchema(t)
	s, err := sqlstore.New(t.Context(), postgresDB(t, db), sqlstore.PostgreSQL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, db
}

// lastAdminSpaces is how many spaces the two processes race on.
const lastAdminSpaces = 200

var (
	keeperPerms  = []string{perm.RoleBindingCreate, perm.RoleBindingDelete, "SPACE_READ"}
	droppedPerms = []string{perm.RoleBindingDelete, "SPACE_READ"}
)

// childProtected is the child's store with the rule on, opened by the
// command "open protected".
var childProtected *sqlstore.Store

// removeAdmins runs the child's side of a command: "open protected"
// opens its store with the rule on; "remove admins" takes the space
// bindings of cmd.User, in creation order, and, all at once, deletes the
// even ones and changes the odd ones to Member. It answers, per binding,
// whether the rule refused, and fails on any other error.
func removeAdmins(ctx context.Context, cmd command) ([]bool, error) {
	if childProtected == nil {
		s, err := openChild(ctx, sqlstore.Options{ProtectLastAdmin: true})
		if err != nil {
			return nil, err
		}
		childProtected = s
		return nil, nil
	}
	s := childProtected
	var bs []rbac.Binding
	q := rbac.ListQuery{ResourceType: rbac.Space, UserID: cmd.User, Limit: 100}
	for {
		p, err := s.List(ctx, q)
		if err != nil {
			return nil, err
		}
		bs = append(bs, p.Bindings...)
		if !p.HasMore {
			break
		}
		q.Cursor = p.NextCursor
	}
	refused := make([]bool, len(bs))
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = s.Delete(ctx, b.ID)
			} else {
				_, err = s.ChangeRole(ctx, b.ID, rbac.RoleChange{RoleID: perm.MemberRoleID})
			}
			if err == nil {
				return
			}
			refused[i] = true
			if want := lastAdminMessage(b.ResourceID); !errors.Is(err, rbac.ErrConflict) || err.Error() != want {
				errs[i] = fmt.Errorf("binding %d: %w; want the conflict %q", i, err, want)
			}
		})
	}
	wg.Wait()
	return refused, errors.Join(errs...)
}

func lastAdminMessage(space string) string {
	return "space " + space + " would be left without an administrator"
}

func TestTwoProcessesLastAdmin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		is := is.New(t)
		ctx := t.Context()
		s, db := openShared(t, e, sqlstore.Options{Catalogue: testCatalogue(), ProtectLastAdmin: true})
		// Each space has two administrators: user 1 through a custom
		// role, which the parent takes ROLE_BINDING_CREATE from and gives
		// back meanwhile, and user 2 as Admin.
		keeper, err := s.CreateRole(ctx, rbac.NewRole{Name: "Space keeper", Permissions: keeperPerms})
		is.NoErr(err)
		var mine []rbac.Binding
		for i := range lastAdminSpaces {
			_, err := s.Create(ctx, rbac.NewBinding{RoleID: keeper.ID, UserID: userID(1), ResourceType: rbac.Space, ResourceID: spaceID(i)})
			is.NoErr(err)
			b, err := s.Create(ctx, rbac.NewBinding{RoleID: perm.AdminRoleID, UserID: userID(2), ResourceType: rbac.Space, ResourceID: spaceID(i)})
			is.NoErr(err)
			mine = append(mine, b)
		}
		kid := startChild(t, e.name, db)
		kid.do(command{Op: "remove admins"}) // opens the child's protected store

		// The child removes user 1 everywhere while the parent deletes
		// user 2 everywhere and toggles the custom role.
		var (
			wg      sync.WaitGroup
			theirs  reply
			refused = make([]bool, lastAdminSpaces)
		)
		wg.Go(func() { theirs = kid.do(command{Op: "remove admins", User: userID(1)}) })
		for i, b := range mine {
			wg.Go(func() {
				err := s.Delete(ctx, b.ID)
				if err == nil {
					return
				}
				refused[i] = true
				if !errors.Is(err, rbac.ErrConflict) || err.Error() != lastAdminMessage(spaceID(i)) {
					t.Errorf("space %d: delete user 2's binding: %v; want the rule's conflict", i, err)
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				for range 5 {
					for _, perms := range [][]string{droppedPerms, keeperPerms} {
						_, err := s.UpdateRole(ctx, keeper.ID, rbac.RoleUpdate{Permissions: perms})
						if err != nil && !errors.Is(err, rbac.ErrConflict) {
							t.Errorf("UpdateRole(%q): %v; want success or the rule's conflict", perms, err)
						}
					}
				}
			})
		}
		wg.Wait()
		is.Equal(len(theirs.Answers), lastAdminSpaces)

		// On every space exactly one of the two removals was refused,
		// and an administrator is left.
		roles := map[string][]string{}
		var without []int
		for i := range lastAdminSpaces {
			if theirs.Answers[i] == refused[i] {
				t.Errorf("space %d: child refused %v, parent refused %v; want exactly one refused", i, theirs.Answers[i], refused[i])
			}
			page, err := s.List(ctx, rbac.ListQuery{ResourceType: rbac.Space, ResourceID: spaceID(i)})
			is.NoErr(err)
			admins := 0
			for _, b := range page.Bindings {
				if roles[b.RoleID] == nil {
					r, err := s.GetRole(ctx, b.RoleID)
					is.NoErr(err)
					roles[b.RoleID] = r.Permissions
				}
				if slices.Contains(roles[b.RoleID], perm.RoleBindingCreate) {
					admins++
				}
			}
			if admins == 0 {
				without = append(without, i)
			}
		}
		if len(without) > 0 {
			t.Fatalf("%s: %d of %d spaces were left without an administrator (%v); want none", e.name, len(without), lastAdminSpaces, without)
		}
	})
}

// TestHoldsAdminColumn holds the column the rule's SQL reads (rbac_roles.
// holds_admin, computed by the database from the permissions, migration
// 0005) to the rule in Go (core.HoldsAdmin), for every role of the
// catalogue and custom roles whose permissions put the administrator's
// first, last, alone or nowhere, before and after an update.
func TestHoldsAdminColumn(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			s := e.open(t, sqlstore.Options{})
			vocab := perm.DefaultVocabulary().Names()
			sets := [][]string{
				{perm.RoleBindingCreate},
				{perm.RoleBindingDelete},
				{perm.RoleBindingCreate, perm.RoleBindingDelete},
				{"SPACE_READ", perm.RoleBindingCreate},
				{"SPACE_READ"},
				vocab,
				slices.DeleteFunc(slices.Clone(vocab), func(p string) bool { return p == perm.RoleBindingCreate }),
			}
			var ids []string
			for i, ps := range sets {
				r, err := s.CreateRole(ctx, rbac.NewRole{Name: fmt.Sprintf("holds admin %d", i), Permissions: ps})
				is.NoErr(err)
				ids = append(ids, r.ID)
			}
			check := func() {
				t.Helper()
				rows, err := s.DB().QueryContext(ctx, "SELECT id, permissions, holds_admin FROM rbac_roles")
				is.NoErr(err)
				defer rows.Close()
				n := 0
				for rows.Next() {
					var id, perms string
					var holds bool
					is.NoErr(rows.Scan(&id, &perms, &holds))
					if want := core.HoldsAdmin(strings.Fields(perms)); holds != want {
						t.Errorf("role %s (%s): holds_admin %v, want %v", id, perms, holds, want)
					}
					n++
				}
				is.NoErr(rows.Err())
				is.True(n >= len(sets)) // the custom roles at least
			}
			check()
			// Swap the sets around, so that every role's flag changes
			// where the rule says it does.
			for i, id := range ids {
				_, err := s.UpdateRole(ctx, id, rbac.RoleUpdate{Permissions: sets[len(sets)-1-i]})
				is.NoErr(err)
			}
			check()
		})
	}
}

// TestHoldsAdminColumnUpgrade sets the flag of roles that were there
// before migration 0005 added it: a database at version 4 with a role
// that holds the administrator's permission and one that does not,
// migrated to the latest version.
func TestHoldsAdminColumnUpgrade(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			is := is.New(t)
			ctx := t.Context()
			var db *sql.DB
			if e.dialect == sqlstore.SQLite {
				c, err := sqlstore.SQLiteConnector(filepath.Join(t.TempDir(), "v4.db"))
				is.NoErr(err)
				db = sql.OpenDB(c)
				t.Cleanup(func() { db.Close() })
			} else {
				db = postgresDB(t, newSchema(t))
			}
			d := e.dialect
			is.NoErr(sqlstore.MigrateTo(ctx, db, d, 4))
			insert := `INSERT INTO rbac_roles (id, name, description, permissions, predefined, created_at, updated_at) VALUES ($1, $2, '', $3, $4, 0, 0)`
			if d == sqlstore.SQLite {
				insert = strings.NewReplacer("$1", "?", "$2", "?", "$3", "?", "$4", "?").Replace(insert)
			}
			want := map[string]bool{}
			for i, perms := range [][]string{
				{perm.RoleBindingCreate, perm.RoleBindingDelete, "SPACE_READ"},
				{perm.RoleBindingDelete, "SPACE_READ"},
			} {
				id := roleID(900 + i)
				_, err := db.ExecContext(ctx, insert, id, fmt.Sprintf("old role %d", i), strings.Join(perms, " "), i == 0)
				is.NoErr(err)
				want[id] = core.HoldsAdmin(perms)
			}
			is.NoErr(sqlstore.MigrateTo(ctx, db, d, d.SchemaVersion()))
			for id, w := range want {
				var holds bool
				q := "SELECT holds_admin FROM rbac_roles WHERE id = $1"
				if d == sqlstore.SQLite {
					q = "SELECT holds_admin FROM rbac_roles WHERE id = ?"
				}
				is.NoErr(db.QueryRowContext(ctx, q, id).Scan(&holds))
				is.Equal(holds, w) // the flag of a role from before the column
			}
		})
	}
}
