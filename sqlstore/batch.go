package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// ErrRolledBack is the error of a batch item that was valid and did not
// conflict, but was not created because another item of an all-or-nothing
// batch failed. It is none of the three categories: the item itself is
// fine and may be sent again.
var ErrRolledBack = errors.New("sqlstore: not created: another item of the all-or-nothing batch failed")

// BatchOptions says how [Store.CreateBatch] treats failing items.
type BatchOptions struct {
	// AllOrNothing makes one failing item fail the whole batch: nothing
	// is created, the failing items report why, and every other item
	// reports [ErrRolledBack]. Without it, the items that can be created
	// are, and the others report why not.
	AllOrNothing bool
}

// BatchResult is the outcome of one item of a batch, at the item's index.
type BatchResult struct {
	// Binding is the created binding, when Err is nil.
	Binding rbac.Binding
	// Err is why the item was not created: a [*rbac.ValidationError]
	// (ErrInvalid), ErrNotFound when its role does not exist, ErrConflict
	// when the user already has a binding on the resource (also when an
	// earlier item of the same batch made it), or ErrRolledBack.
	Err error
}

// CreateBatch creates many bindings in one transaction, which costs far
// less than one call per binding: one commit (and, on SQLite, one sync to
// disk) for the whole batch. It returns one result per item, in order.
//
// The returned error is non-nil only when the batch as a whole could not
// run (storage failure, cancelled context); then nothing was created and
// there are no results. Items fail one by one in the results, so a nil
// error does not mean that every item was created.
//
// On SQLite, a batch of 1,000 valid items or more sets aside, inside its
// transaction, the two row triggers that check every inserted binding,
// and checks their rules itself: a bulk load's way of going faster. Other
// connections never see the table without them; the schema change makes
// them prepare their statements again after the commit.
func (s *Store) CreateBatch(ctx context.Context, nbs []rbac.NewBinding, opts BatchOptions) ([]BatchResult, error) {
	var results []BatchResult
	err := s.write(ctx, func(r runner) (err error) {
		// The store's own transaction, which nobody else writes in: a
		// large batch may set the row triggers aside (see bulkTriggers).
		r.bulk = true
		results, err = r.createBatch(ctx, nbs, opts)
		if err == nil && opts.AllOrNothing && failed(results) {
			// Roll back: write does on any error.
			return errBatchFailed
		}
		return err
	})
	if errors.Is(err, errBatchFailed) {
		return results, nil
	}
	if err != nil {
		return nil, internal("create batch", err)
	}
	return results, nil
}

// CreateBatch is [Store.CreateBatch] in the host's transaction. With
// AllOrNothing, a failing item leaves the transaction as it was before the
// call (through a savepoint), so the host may still commit its own work.
func (t *TxStore) CreateBatch(ctx context.Context, nbs []rbac.NewBinding, opts BatchOptions) ([]BatchResult, error) {
	var results []BatchResult
	err := t.s.write(ctx, func(r runner) error {
		if opts.AllOrNothing {
			if _, err := r.tx.ExecContext(ctx, "SAVEPOINT rbac_batch"); err != nil {
				return err
			}
		}
		var err error
		results, err = r.createBatch(ctx, nbs, opts)
		if !opts.AllOrNothing {
			return err
		}
		if err == nil && !failed(results) {
			_, err = r.tx.ExecContext(ctx, "RELEASE SAVEPOINT rbac_batch")
			return err
		}
		if _, rbErr := r.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT rbac_batch"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		if _, relErr := r.tx.ExecContext(ctx, "RELEASE SAVEPOINT rbac_batch"); relErr != nil {
			return errors.Join(err, relErr)
		}
		return err
	})
	if err != nil {
		return nil, internal("create batch", err)
	}
	return results, nil
}

// errBatchFailed makes write roll back an all-or-nothing batch.
var errBatchFailed = errors.New("sqlstore: batch failed")

func failed(results []BatchResult) bool {
	for _, res := range results {
		if res.Err != nil {
			return true
		}
	}
	return false
}

// batchChunk is how many rows one INSERT statement of a batch carries:
// 7 parameters a row stays far below every engine's limit, and one
// statement per chunk instead of per row saves most of the per-statement
// work (SQLite journals each page a statement touches once).
const batchChunk = 200

// createBatch validates every item, then inserts the valid ones in lock
// order (see lockOrder), a chunk of rows per statement. It inserts even
// when an all-or-nothing batch is bound to fail (the caller rolls back), so that every failing
// item reports its own reason: a conflict as well as invalid input.
func (r runner) createBatch(ctx context.Context, nbs []rbac.NewBinding, opts BatchOptions) ([]BatchResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The statement for a full chunk is prepared once for the batch.
	r.txStmts = map[string]*sql.Stmt{}
	results := make([]BatchResult, len(nbs))
	todo := make([]int, 0, len(nbs)) // indexes of the valid items
	for i, nb := range nbs {
		nb, err := r.s.v.NewBinding(nb)
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i].Binding = rbac.Binding{RoleID: nb.RoleID, UserID: nb.UserID, ResourceType: nb.ResourceType, ResourceID: nb.ResourceID}
		todo = append(todo, i)
	}
	// Each role is checked once, and on PostgreSQL kept from being
	// deleted until the batch commits (see roleExists); SQLite's write
	// lock does that for the whole batch. The roles are locked in the
	// order of their IDs, as every lock of a batch is taken in one global
	// order (see lockOrder).
	roles := map[string]bool{} // role ID: it exists
	for _, i := range todo {
		roles[results[i].Binding.RoleID] = false
	}
	for _, id := range slices.Sorted(maps.Keys(roles)) {
		exists, err := r.roleExists(ctx, id)
		if err != nil {
			return nil, err
		}
		roles[id] = exists
	}
	valid := todo[:0]
	for _, i := range todo {
		if id := results[i].Binding.RoleID; !roles[id] {
			results[i] = BatchResult{Err: core.RoleNotFound(id)}
			continue
		}
		valid = append(valid, i)
	}
	todo = valid
	// The changes go to the feed in the caller's order; the rows go in
	// in lock order.
	created := slices.Clone(todo)
	lockOrder(results, todo)
	restore := func() error { return nil }
	if r.bulk && r.s.d == SQLite && len(todo) >= bulkMin {
		var err error
		if r, restore, err = r.setTriggersAside(ctx); err != nil {
			return nil, err
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), batchChunk)
		if err := r.insertChunk(ctx, results, todo[:n]); err != nil {
			return nil, err
		}
		todo = todo[n:]
	}
	if err := restore(); err != nil {
		return nil, err
	}
	if opts.AllOrNothing && failed(results) {
		for i := range results {
			if results[i].Err == nil {
				results[i] = BatchResult{Err: ErrRolledBack}
			}
		}
		return results, nil
	}
	// One change per created binding, in the order of the batch.
	changes := make([]store.Change, 0, len(created))
	for _, i := range created {
		if res := results[i]; res.Err == nil {
			changes = append(changes, store.Change{Kind: store.BindingCreated, At: res.Binding.CreatedAt, Binding: res.Binding})
		}
	}
	if err := r.record(ctx, changes...); err != nil {
		return nil, err
	}
	return results, nil
}

// lockOrder sorts the indexes in todo by the (user, resource) of their
// bindings, the key of the unique index, byte for byte; items with the
// same key keep the caller's order, so the earlier one is created and
// the later one is in conflict.
//
// Why: an INSERT that meets a key another open transaction inserted
// waits for that transaction to end, holding the keys it inserted so
// far. Two batches that insert shared keys in different orders (A then
// B, and B then A) wait for each other, and PostgreSQL breaks the
// deadlock only after deadlock_timeout (a second) by failing one of
// them; with many batches at once, the retried ones deadlock again and
// few get through. When every batch inserts its rows in one global
// order, across chunks too, a batch only ever waits for keys greater
// than all it holds, and no cycle of waits can form. The other locks of
// a batch's transaction are ordered as well: roles (checked in ID order,
// before any row), then the change feed's counter row, which every
// write takes as its last statement. SQLite, whose write lock admits one
// writer at a time, has no such waits; it inserts in the same order so
// that both engines give a batch's bindings the same creation order.
func lockOrder(results []BatchResult, todo []int) {
	slices.SortStableFunc(todo, func(i, j int) int {
		a, b := &results[i].Binding, &results[j].Binding
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.ResourceType), string(b.ResourceType)); c != 0 {
			return c
		}
		return strings.Compare(a.ResourceID, b.ResourceID)
	})
}

// insertChunk inserts the bindings of results at the indexes in chunk
// with one statement, and fills in their IDs and timestamps, or a
// conflict for each row that was not inserted because its (user,
// resource) was taken, by an earlier item of the batch too.
//
// The statement is an Exec: when it inserted every row, as it does in
// the common case, nothing more is read. Only a chunk with conflicts
// asks which of its new IDs are there. (A RETURNING clause would answer
// that too, but costs a result row through database/sql for every
// inserted binding, about a twentieth of a batch's time.)
func (r runner) insertChunk(ctx context.Context, results []BatchResult, chunk []int) error {
	now := r.nowTime()
	us := micros(now)
	query := r.s.d.rebind(chunkInsert(len(chunk)))
	args := make([]any, 0, 7*len(chunk))
	for attempt := 1; ; attempt++ {
		args = args[:0]
		for _, i := range chunk {
			id, err := r.s.newID()
			if err != nil {
				return err
			}
			b := &results[i].Binding
			b.ID, b.CreatedAt, b.UpdatedAt = id, now, now
			args = append(args, id, b.RoleID, b.UserID, string(b.ResourceType), b.ResourceID, us, us)
		}
		if r.triggersAside {
			// What the retired-ID trigger would refuse.
			used, err := r.retiredAmong(ctx, results, chunk)
			if err != nil {
				return err
			}
			if used != "" {
				if attempt < 3 {
					continue
				}
				return fmt.Errorf("sqlstore: new binding id %s was used before", used)
			}
		}
		res, err := r.exec(ctx, query, args...)
		if err != nil {
			if r.s.d.classify(err) == errUnique {
				// A taken binding ID fails the statement, which SQLite
				// undoes alone: try again with new IDs.
				if attempt < 3 && r.canRetryStatement() {
					continue
				}
				if r.rec != nil && r.s.d == PostgreSQL {
					// PostgreSQL failed the store's own transaction:
					// write runs the batch again, with new IDs.
					return fmt.Errorf("%w: %w", errIDTaken, err)
				}
			}
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if int(n) == len(chunk) {
			return nil
		}
		inserted, err := r.present(ctx, results, chunk)
		if err != nil {
			return err
		}
		if len(inserted) != int(n) {
			return fmt.Errorf("sqlstore: batch insert wrote %d rows, found %d", n, len(inserted))
		}
		for _, i := range chunk {
			if b := results[i].Binding; !inserted[b.ID] {
				results[i] = BatchResult{Err: core.SlotTaken(b.UserID, b.ResourceType, b.ResourceID)}
			}
		}
		return nil
	}
}

// chunkInsert is the statement that inserts n bindings and skips each
// whose user and resource are taken.
func chunkInsert(n int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO rbac_role_bindings (" + bindingColumns + ") VALUES ")
	for k := range n {
		if k > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
	}
	q.WriteString(" ON CONFLICT (user_id, resource_type, resource_id) DO NOTHING")
	return q.String()
}

// present returns which of the new IDs of the chunk's bindings are in
// the table: the IDs are new, so those are the rows the chunk inserted.
func (r runner) present(ctx context.Context, results []BatchResult, chunk []int) (map[string]bool, error) {
	query, args := newIDsIn("SELECT id FROM rbac_role_bindings WHERE id IN (", results, chunk)
	found := make(map[string]bool, len(chunk))
	err := r.query(ctx, r.s.d.rebind(query+")"), args, func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		found[id] = true
		return nil
	})
	return found, err
}

// newIDsIn returns prefix followed by one placeholder for the new ID of
// each of the chunk's bindings, and those IDs as the arguments.
func newIDsIn(prefix string, results []BatchResult, chunk []int) (string, []any) {
	var q strings.Builder
	q.WriteString(prefix)
	args := make([]any, len(chunk))
	for k, i := range chunk {
		if k > 0 {
			q.WriteString(", ")
		}
		q.WriteString("?")
		args[k] = results[i].Binding.ID
	}
	return q.String(), args
}

// A large batch in the store's own transaction on SQLite sets aside the
// two row triggers that check every inserted binding (its ID was never
// used, its role exists; migrations 0001 and 0003), checks both rules
// itself, and puts the triggers back before the transaction commits.
//
// Why: when a table has row triggers, SQLite copies the rows of a
// multi-row INSERT into a temporary table before it inserts them, and
// each trigger runs a lookup per row. Checking the rules in the store
// instead costs a lookup per row and no copy: a batch of 10,000 bindings
// runs about a tenth faster. This is SQLite's form of disabling triggers
// for a bulk load: DROP and CREATE TRIGGER are part of the transaction, so
// no other connection ever sees the table without them. Other writers cannot
// write while the batch holds the write lock (BEGIN IMMEDIATE); a crash
// or a rollback leaves the triggers as they were; readers see the schema
// of their snapshot; and other connections' statements are prepared
// again after the commit, as SQLite does after any schema change, which
// costs little next to a batch of bulkMin bindings or more. The rules
// still hold for the batch: its roles were read in this transaction
// (createBatch), and every chunk's new IDs are looked up among the
// retired ones before the chunk is inserted.
var bulkTriggers = [...]string{"rbac_role_bindings_refuse_retired_id", "rbac_role_bindings_role_exists"}

// bulkMin is the smallest batch that sets the triggers aside. The schema
// change makes every other connection prepare its statements again, so it
// is kept for batches where a few microseconds saved per row add up to
// far more than that.
const bulkMin = 1000

// setTriggersAside drops the bulk triggers in the runner's transaction
// and returns a runner that checks their rules itself, and the function
// that creates the triggers again, from the SQL they were made with. When
// the schema does not have both triggers (a host changed it), it leaves
// everything as it is and returns r.
func (r runner) setTriggersAside(ctx context.Context) (runner, func() error, error) {
	var defs []string
	err := r.query(ctx, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'rbac_role_bindings' AND name IN (?, ?) ORDER BY name`,
		[]any{bulkTriggers[0], bulkTriggers[1]}, func(rows *sql.Rows) error {
			var def string
			if err := rows.Scan(&def); err != nil {
				return err
			}
			defs = append(defs, def)
			return nil
		})
	if err != nil {
		return r, nil, err
	}
	if len(defs) != len(bulkTriggers) {
		return r, func() error { return nil }, nil
	}
	for _, name := range bulkTriggers {
		// Names are the constants above, not input.
		if _, err := r.tx.ExecContext(ctx, "DROP TRIGGER "+name); err != nil {
			return r, nil, err
		}
	}
	r.triggersAside = true
	restore := func() error {
		for _, def := range defs {
			if _, err := r.tx.ExecContext(ctx, def); err != nil {
				return err
			}
		}
		return nil
	}
	return r, restore, nil
}

// retiredAmong returns one of the new IDs of the chunk's bindings that
// was used before, or "" when none was.
func (r runner) retiredAmong(ctx context.Context, results []BatchResult, chunk []int) (string, error) {
	query, args := newIDsIn("SELECT id FROM rbac_retired_binding_ids WHERE id IN (", results, chunk)
	var used string
	err := r.query(ctx, query+") LIMIT 1", args, func(rows *sql.Rows) error { return rows.Scan(&used) })
	return used, err
}
