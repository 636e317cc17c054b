package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/rolebind/rbac"
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
	// (ErrInvalid), ErrConflict when the user already has a binding on
	// the resource (also when an earlier item of the same batch made it),
	// or ErrRolledBack.
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
func (s *Store) CreateBatch(ctx context.Context, nbs []rbac.NewBinding, opts BatchOptions) ([]BatchResult, error) {
	var results []BatchResult
	err := s.inTx(ctx, func(r runner) (err error) {
		results, err = r.createBatch(ctx, nbs, opts)
		if err == nil && opts.AllOrNothing && failed(results) {
			// Roll back: inTx does on any error.
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
	err := t.o.run(ctx, true, func(r runner) error {
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

// errBatchFailed makes inTx roll back an all-or-nothing batch.
var errBatchFailed = errors.New("sqlstore: batch failed")

func failed(results []BatchResult) bool {
	for _, res := range results {
		if res.Err != nil {
			return true
		}
	}
	return false
}

// createBatch validates every item, then inserts the valid ones in order.
// It inserts even when an all-or-nothing batch is bound to fail (the
// caller rolls back), so that every failing item reports its own reason:
// a conflict as well as invalid input.
func (r runner) createBatch(ctx context.Context, nbs []rbac.NewBinding, opts BatchOptions) ([]BatchResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	results := make([]BatchResult, len(nbs))
	valid := make([]rbac.NewBinding, len(nbs))
	for i, nb := range nbs {
		valid[i], results[i].Err = r.s.v.NewBinding(nb)
	}
	for i, nb := range valid {
		if results[i].Err != nil {
			continue
		}
		b, err := r.create(ctx, nb)
		switch {
		case err == nil:
			results[i].Binding = b
		case errors.Is(err, rbac.ErrConflict):
			results[i].Err = err
		default:
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	if opts.AllOrNothing && failed(results) {
		for i := range results {
			if results[i].Err == nil {
				results[i] = BatchResult{Err: ErrRolledBack}
			}
		}
	}
	return results, nil
}
