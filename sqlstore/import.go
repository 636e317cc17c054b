package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// RecordKind says what a [Record] holds. The values are the names an
// export file (rbac export) writes in its "kind" field.
type RecordKind string

// The kinds of record, in the order [Store.Dump] reads them and a restore
// must write them: bindings name roles.
const (
	RoleRecord        RecordKind = "role"
	ProjectRecord     RecordKind = "project"
	RestrictionRecord RecordKind = "restriction"
	BindingRecord     RecordKind = "binding"
)

// Record is one stored fact with everything the store keeps of it, IDs and
// timestamps included: what [Store.Dump] reads and [TxStore.Restore]
// writes back, so that a database can be moved to another (SQLite to
// PostgreSQL, say) with every ID and timestamp unchanged. Only the fields
// its Kind names are set.
type Record struct {
	Kind RecordKind
	// Role, for RoleRecord.
	Role rbac.Role
	// ProjectID and SpaceID, for ProjectRecord: the project belongs to
	// the space.
	ProjectID, SpaceID string
	// Restriction, for RestrictionRecord.
	Restriction rbac.Restriction
	// Binding, for BindingRecord.
	Binding rbac.Binding
}

// Dump reads the whole state in one read transaction, as [Store.Snapshot]
// does, and calls fn with each record in the order a restore needs: every
// role (predefined ones too, marked so), every project link, every
// restriction (in the order of restriction, with its time), every binding
// (in creation order). Unlike Snapshot's changes, the records keep the
// restriction times. It returns the revision the state is at. An error
// from fn stops the read and is returned as is.
func (s *Store) Dump(ctx context.Context, fn func(Record) error) (uint64, error) {
	return s.readAll(ctx, "dump", fn)
}

// readAll is Dump, and Snapshot's read: the whole state in one read
// transaction (PostgreSQL at REPEATABLE READ; SQLite's read transaction
// sees one snapshot of the file from its first read), each row passed to
// fn as it is read, never gathered, so a large store costs no more memory
// than a small one. op names the call in an internal error.
func (s *Store) readAll(ctx context.Context, op string, fn func(Record) error) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, internal(op, err)
	}
	var rev int64
	var fnErr error
	err := s.retry(ctx, func() error {
		rev, fnErr = 0, nil
		opts := &sql.TxOptions{ReadOnly: true}
		if s.d == PostgreSQL {
			opts.Isolation = sql.LevelRepeatableRead
		}
		tx, err := s.db.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := tx.QueryRowContext(ctx, s.fq.read).Scan(&rev); err != nil {
			return err
		}
		emit := func(rec Record) error {
			if err := fn(rec); err != nil {
				fnErr = err
				return err
			}
			return nil
		}
		r := runner{s: s, tx: tx}
		if err := r.scanRoles(ctx, s.rq.all, nil, func(ro rbac.Role, _ int64) error {
			return emit(Record{Kind: RoleRecord, Role: ro})
		}); err != nil {
			return err
		}
		if err := r.rawQuery(ctx, "SELECT project_id, space_id FROM rbac_project_spaces ORDER BY project_id", nil, func(rows *sql.Rows) error {
			rec := Record{Kind: ProjectRecord}
			if err := rows.Scan(&rec.ProjectID, &rec.SpaceID); err != nil {
				return err
			}
			return emit(rec)
		}); err != nil {
			return err
		}
		if err := r.rawQuery(ctx, "SELECT project_id, restricted_at FROM rbac_restricted_projects ORDER BY seq", nil, func(rows *sql.Rows) error {
			rec := Record{Kind: RestrictionRecord}
			var at int64
			if err := rows.Scan(&rec.Restriction.ProjectID, &at); err != nil {
				return err
			}
			rec.Restriction.RestrictedAt = fromMicros(at)
			return emit(rec)
		}); err != nil {
			return err
		}
		if err := r.rawQuery(ctx, "SELECT "+bindingColumns+" FROM rbac_role_bindings ORDER BY seq", nil, func(rows *sql.Rows) error {
			var sc scanned
			if err := rows.Scan(sc.dest()...); err != nil {
				return err
			}
			return emit(Record{Kind: BindingRecord, Binding: sc.binding()})
		}); err != nil {
			return err
		}
		return tx.Commit()
	})
	if fnErr != nil {
		return 0, fnErr
	}
	if err != nil {
		return 0, internal(op, err)
	}
	return uint64(rev), nil
}

// Restore writes records as they are, with their own IDs and timestamps,
// in the host's transaction: the way back of [Store.Dump], for moving a
// database or loading a backup into an empty one. It returns one error per
// record, nil for each record written; the returned error is for a
// failure of the whole call (storage, a cancelled context), after which
// the host rolls back.
//
// Every record is held to the rules of the store's own writes: IDs
// well formed, of their type and canonical; role payloads as for
// CreateRole (name, permissions of the vocabulary); bindings as for
// Create, naming a role that exists (stored, or restored earlier in the
// transaction); timestamps set, and an update never before its create.
// A record that breaks a rule gets ErrInvalid or ErrNotFound. A record
// that meets what is there gets ErrConflict: a role or binding ID that is
// taken or was used before, a role name that is taken, a user's second
// binding on a resource, a project linked to another space. A predefined
// role is not written, since the store's catalogue owns those: it must
// match the stored predefined role of its ID (name, description,
// permissions), or it is a conflict; its timestamps stay those of this
// store. A link or restriction that is already there as the record says
// is written as nothing, without error.
//
// Restore is meant for an all-or-nothing load: records written by a call
// that reported a failing record stay in the transaction, which the host
// then rolls back. It reports every failing record, not just the first,
// and never fails a statement for a record's sake, so that on PostgreSQL
// the transaction stays usable while the rest is checked. Each record
// written is a change of the feed (RoleCreated, ProjectSpaceSet,
// ProjectRestricted, BindingCreated), at the time of the restore.
//
// Bindings are inserted many rows per statement, as [Store.CreateBatch]
// does, and on SQLite a call with 1,000 bindings or more sets the row
// triggers aside in the transaction as a large batch does: pass bindings
// in calls of thousands. The last-administrator rule is not consulted:
// a restore only adds bindings.
func (t *TxStore) Restore(ctx context.Context, recs []Record) ([]error, error) {
	errs := make([]error, len(recs))
	err := t.s.write(ctx, func(r runner) error {
		r.txStmts = map[string]*sql.Stmt{}
		var changes []store.Change
		now := r.nowTime()
		var bindings []int
		flush := func() error {
			if len(bindings) == 0 {
				return nil
			}
			ch, err := r.restoreBindings(ctx, recs, errs, bindings, now)
			changes = append(changes, ch...)
			bindings = bindings[:0]
			return err
		}
		for i := range recs {
			if recs[i].Kind == BindingRecord {
				bindings = append(bindings, i)
				continue
			}
			// Roles first: a binding later in the call may name one.
			if err := flush(); err != nil {
				return err
			}
			ch, recErr, err := r.restoreOne(ctx, recs[i], now)
			if err != nil {
				return err
			}
			errs[i] = recErr
			if ch != nil {
				changes = append(changes, *ch)
			}
		}
		if err := flush(); err != nil {
			return err
		}
		return r.record(ctx, changes...)
	})
	if err != nil {
		return nil, internal("restore", err)
	}
	return errs, nil
}

// restoreOne writes a record other than a binding. It returns the change
// to record, if any, the record's own error, and an error of the call.
func (r runner) restoreOne(ctx context.Context, rec Record, now time.Time) (*store.Change, error, error) {
	s := r.s
	switch rec.Kind {
	case RoleRecord:
		return r.restoreRole(ctx, rec.Role, now)
	case ProjectRecord:
		p, pErr := s.projectID(rec.ProjectID)
		sp, sErr := s.v.ID("space_id", ids.Space, rec.SpaceID)
		if err := rbac.JoinInvalid(pErr, sErr); err != nil {
			return nil, err, nil
		}
		var have string
		err := r.queryRow(ctx, s.resq.getSpace, []any{p}, &have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, nil, err
		case have == sp:
			return nil, nil, nil
		default:
			return nil, rbac.Conflict("project %s belongs to space %s already", p, have), nil
		}
		if _, err := r.exec(ctx, s.resq.setSpace, p, sp); err != nil {
			return nil, nil, err
		}
		return &store.Change{Kind: store.ProjectSpaceSet, At: now, ProjectID: p, SpaceID: sp}, nil, nil
	case RestrictionRecord:
		p, err := s.projectID(rec.Restriction.ProjectID)
		at, atErr := storedTime("restricted_at", rec.Restriction.RestrictedAt)
		if err := rbac.JoinInvalid(err, atErr); err != nil {
			return nil, err, nil
		}
		n, err := affected(r.exec(ctx, s.resq.restrict, p, at))
		if err != nil || n == 0 {
			// Restricted already: the state the record asks for.
			return nil, nil, err
		}
		return &store.Change{Kind: store.ProjectRestricted, At: now, ProjectID: p}, nil, nil
	default:
		return nil, rbac.Invalid("kind", rbac.ReasonNotSupported, fmt.Sprintf("unknown record kind %q", rec.Kind)), nil
	}
}

// storedTime checks a timestamp of a record and returns its stored form.
func storedTime(field string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, rbac.Invalid(field, rbac.ReasonRequired, "a timestamp is required")
	}
	return micros(t), nil
}

// timesOf checks a record's created_at and updated_at.
func timesOf(created, updated time.Time) (int64, int64, error) {
	c, cErr := storedTime("created_at", created)
	u, uErr := storedTime("updated_at", updated)
	if cErr == nil && uErr == nil && u < c {
		uErr = rbac.Invalid("updated_at", rbac.ReasonInvalid, "is before created_at")
	}
	return c, u, rbac.JoinInvalid(cErr, uErr)
}

// restoreRole writes a custom role, or compares a predefined one with the
// stored catalogue.
func (r runner) restoreRole(ctx context.Context, ro rbac.Role, now time.Time) (*store.Change, error, error) {
	s := r.s
	id, idErr := s.roleID(ro.ID)
	nr, nrErr := s.v.NewRole(s.vocab, rbac.NewRole{Name: ro.Name, Description: ro.Description, Permissions: ro.Permissions})
	c, u, tErr := timesOf(ro.CreatedAt, ro.UpdatedAt)
	if err := rbac.JoinInvalid(idErr, nrErr, tErr); err != nil {
		return nil, err, nil
	}
	have, ok, err := r.getRole(ctx, s.rq.get, id)
	if err != nil {
		return nil, nil, err
	}
	if ro.Predefined {
		h := have.role()
		if !ok || !h.Predefined || h.Name != nr.Name || h.Description != nr.Description || !slices.Equal(h.Permissions, nr.Permissions) {
			return nil, rbac.Conflict("predefined role %s (%q) is not in this store's catalogue as it is in the record", id, nr.Name), nil
		}
		return nil, nil, nil
	}
	if ok {
		return nil, rbac.Conflict("role ID %s is taken", id), nil
	}
	var retired int
	if err := r.queryRow(ctx, s.d.rebind("SELECT count(*) FROM rbac_retired_role_ids WHERE id = ?"), []any{id}, &retired); err != nil {
		return nil, nil, err
	}
	if retired > 0 {
		return nil, rbac.Conflict("role ID %s was used before", id), nil
	}
	n, err := affected(r.exec(ctx, s.rq.insert, id, nr.Name, nr.Description, permissionsColumn(nr.Permissions), false, c, u))
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, core.NameTaken(nr.Name), nil
	}
	out := rbac.Role{ID: id, Name: nr.Name, Description: nr.Description, Permissions: nr.Permissions, CreatedAt: fromMicros(c), UpdatedAt: fromMicros(u)}
	return &store.Change{Kind: store.RoleCreated, At: now, Role: out}, nil, nil
}

// restoreBindings writes the binding records of recs at the indexes in
// todo, a chunk of rows per statement, and sets errs for those that fail.
func (r runner) restoreBindings(ctx context.Context, recs []Record, errs []error, todo []int, now time.Time) ([]store.Change, error) {
	s := r.s
	type row struct {
		i    int
		b    rbac.Binding
		c, u int64
	}
	rows := make([]row, 0, len(todo))
	roles := map[string]bool{}
	for _, i := range todo {
		b := recs[i].Binding
		id, idErr := s.v.BindingID(b.ID)
		nb, nbErr := s.v.NewBinding(rbac.NewBinding{RoleID: b.RoleID, UserID: b.UserID, ResourceType: b.ResourceType, ResourceID: b.ResourceID})
		c, u, tErr := timesOf(b.CreatedAt, b.UpdatedAt)
		if err := rbac.JoinInvalid(idErr, nbErr, tErr); err != nil {
			errs[i] = err
			continue
		}
		b = rbac.Binding{ID: id, RoleID: nb.RoleID, UserID: nb.UserID, ResourceType: nb.ResourceType, ResourceID: nb.ResourceID, CreatedAt: fromMicros(c), UpdatedAt: fromMicros(u)}
		rows = append(rows, row{i, b, c, u})
		roles[b.RoleID] = false
	}
	// Each role once, in ID order as a batch takes them (see lockOrder).
	for _, id := range slices.Sorted(maps.Keys(roles)) {
		exists, err := r.roleExists(ctx, id)
		if err != nil {
			return nil, err
		}
		roles[id] = exists
	}
	valid := rows[:0]
	for _, w := range rows {
		if !roles[w.b.RoleID] {
			errs[w.i] = core.RoleNotFound(w.b.RoleID)
			continue
		}
		valid = append(valid, w)
	}
	rows = valid
	restore := func() error { return nil }
	if s.d == SQLite && len(rows) >= bulkMin {
		// The rules of the two triggers are checked here: roles above,
		// used IDs below, chunk by chunk.
		var err error
		if r, restore, err = r.setTriggersAside(ctx); err != nil {
			return nil, err
		}
	}
	changes := make([]store.Change, 0, len(rows))
	args := make([]any, 0, 7*batchChunk)
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), batchChunk)]
		rows = rows[len(chunk):]
		// IDs taken or used before, and IDs repeated in the chunk, are
		// conflicts found before the insert: an insert that met them
		// would fail the statement (the retired-ID trigger), or be
		// taken for a row of this chunk.
		idArgs := make([]any, len(chunk))
		for k, w := range chunk {
			idArgs[k] = w.b.ID
		}
		ph := placeholders(len(chunk))
		used := map[string]string{}
		q := s.d.rebind("SELECT id, 'is taken' FROM rbac_role_bindings WHERE id IN (" + ph + ") UNION ALL SELECT id, 'was used before' FROM rbac_retired_binding_ids WHERE id IN (" + ph + ")")
		err := r.query(ctx, q, append(idArgs, idArgs...), func(rs *sql.Rows) error {
			var id, why string
			if err := rs.Scan(&id, &why); err != nil {
				return err
			}
			used[id] = why
			return nil
		})
		if err != nil {
			return nil, err
		}
		ins := chunk[:0:0]
		seen := make(map[string]bool, len(chunk))
		for _, w := range chunk {
			if why, ok := used[w.b.ID]; ok {
				errs[w.i] = rbac.Conflict("role binding ID %s %s", w.b.ID, why)
				continue
			}
			if seen[w.b.ID] {
				errs[w.i] = rbac.Conflict("role binding ID %s is taken", w.b.ID)
				continue
			}
			seen[w.b.ID] = true
			ins = append(ins, w)
		}
		if len(ins) == 0 {
			continue
		}
		args = args[:0]
		for _, w := range ins {
			b := &w.b
			args = append(args, b.ID, b.RoleID, b.UserID, string(b.ResourceType), b.ResourceID, w.c, w.u)
		}
		n, err := affected(r.exec(ctx, s.d.rebind(chunkInsert(len(ins))), args...))
		if err != nil {
			return nil, err
		}
		var inserted map[string]bool
		if int(n) != len(ins) {
			// Some rows met a taken (user, resource): the IDs are new
			// here, so those present are the rows inserted.
			idArgs = idArgs[:0]
			for _, w := range ins {
				idArgs = append(idArgs, w.b.ID)
			}
			inserted = make(map[string]bool, n)
			err := r.query(ctx, s.d.rebind("SELECT id FROM rbac_role_bindings WHERE id IN ("+placeholders(len(ins))+")"), idArgs, func(rs *sql.Rows) error {
				var id string
				if err := rs.Scan(&id); err != nil {
					return err
				}
				inserted[id] = true
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		for _, w := range ins {
			if inserted != nil && !inserted[w.b.ID] {
				errs[w.i] = core.SlotTaken(w.b.UserID, w.b.ResourceType, w.b.ResourceID)
				continue
			}
			changes = append(changes, store.Change{Kind: store.BindingCreated, At: now, Binding: w.b})
		}
	}
	if err := restore(); err != nil {
		return nil, err
	}
	return changes, nil
}

// placeholders returns n question marks separated by commas.
func placeholders(n int) string {
	b := make([]byte, 0, 3*n)
	for k := range n {
		if k > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}
