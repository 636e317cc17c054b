package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// DefaultChangeRetention is how many of the latest changes the change
// feed keeps when [Options].ChangeRetention is 0. A follower that falls
// further behind than that (a process that was down for a long time)
// gets a [*store.CompactedError] and loads a snapshot instead.
const DefaultChangeRetention = store.DefaultChangeRetention

// pruneEvery is how often, in revisions, a write prunes the change log
// down to the retention: once per so many writes, so that the delete is
// one short range scan and not a cost of every write.
const pruneEvery = 1000

// The feed's queries. A change is appended to the log with its revision
// by one statement at the end of the write transaction (see record).
const (
	// PostgreSQL: the counter row's lock, taken here and held to commit,
	// orders all writers; the statement is the transaction's last, so
	// the lock is held only from here.
	appendChangePostgres = `WITH r AS (UPDATE rbac_revision SET revision = revision + 1 WHERE one = 1 RETURNING revision)
		INSERT INTO rbac_changes (revision, payload) SELECT revision, $1 FROM r RETURNING revision`
	bumpRevisionPostgres = `UPDATE rbac_revision SET revision = revision + $1 WHERE one = 1 RETURNING revision`
	readRevisionPostgres = `SELECT revision FROM rbac_revision WHERE one = 1`
	// SQLite: the revision is the log's AUTOINCREMENT (see migration
	// 0003), taken under the database's write lock. It is the row's
	// rowid, which the driver reports as the last insert ID of an Exec:
	// reading a RETURNING row back instead goes through database/sql's
	// Rows (a goroutine that watches the context, a reset on close),
	// which measured as most of the change feed's cost per create.
	appendChangeSQLite = `INSERT INTO rbac_changes (payload) VALUES (?)`
	readRevisionSQLite = `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'rbac_changes'), 0)`

	readChanges  = `SELECT revision, payload FROM rbac_changes WHERE revision > ? ORDER BY revision LIMIT ?`
	pruneChanges = `DELETE FROM rbac_changes WHERE revision <= ?`
)

// recorder collects the changes of one write transaction, so that they
// can be handed to the subscribers once it has committed.
type recorder struct {
	changes []store.Change
	// registered is the lowest revision of changes registered with the
	// feed as in flight, 0 when none are.
	registered uint64
}

// feed is what a Store keeps to hand its own writes to its subscribers
// in revision order.
//
// Revisions are assigned inside write transactions by the counter row,
// whose lock makes revision order commit order: when a transaction gets
// revision r, every transaction with a lower revision has committed or
// rolled back. The writes of this Store value with a revision are kept
// in inflight from then until their changes have been handed out (or
// their transaction failed), and a write hands its changes out only when
// no lower revision of this Store is still in flight. So subscribers see
// this process's writes in revision order, each once, after its commit.
// A write waiting for its turn holds no database lock (it has committed),
// so a subscriber may read the store, Changes included.
type feed struct {
	retention int64

	mu       sync.Mutex
	cond     *sync.Cond
	inflight []uint64 // lowest revision of each registered write, sorted

	subs core.Subscribers
}

func (f *feed) init(retention int) {
	f.cond = sync.NewCond(&f.mu)
	switch {
	case retention == 0:
		f.retention = DefaultChangeRetention
	case retention < 0:
		f.retention = 0 // keep every change
	default:
		f.retention = int64(retention)
	}
}

// register marks a write with revisions from rev on as in flight.
func (f *feed) register(rev uint64) {
	f.mu.Lock()
	i, _ := slices.BinarySearch(f.inflight, rev)
	f.inflight = slices.Insert(f.inflight, i, rev)
	f.mu.Unlock()
}

// unregister ends the write registered with rev, after its changes were
// handed out or its transaction failed.
func (f *feed) unregister(rev uint64) {
	f.mu.Lock()
	if i, ok := slices.BinarySearch(f.inflight, rev); ok {
		f.inflight = slices.Delete(f.inflight, i, i+1)
	}
	f.cond.Broadcast()
	f.mu.Unlock()
}

// publish hands the changes of a committed write to the subscribers, once
// every earlier write of this Store has handed out its own.
func (f *feed) publish(rec *recorder) {
	if rec.registered == 0 {
		return
	}
	f.mu.Lock()
	for len(f.inflight) > 0 && f.inflight[0] < rec.registered {
		f.cond.Wait()
	}
	f.mu.Unlock()
	// Later writes wait for this one to leave inflight, so this one has
	// the subscribers to itself. A panicking subscriber still lets them
	// through.
	defer f.unregister(rec.registered)
	f.subs.Notify(rec.changes...)
}

// record ends a write transaction that changed something: it appends
// changes to the change log, each with the next revision, in order, and
// keeps them in r's recorder for the subscribers. It runs last in the
// transaction, after the write's own statements, so that PostgreSQL's
// counter row is locked only from here to commit.
func (r runner) record(ctx context.Context, changes ...store.Change) error {
	if len(changes) == 0 {
		return nil
	}
	payloads, err := payloadsOf(changes)
	if err != nil {
		return err
	}
	var first uint64
	if len(changes) == 1 {
		rev, err := r.append1(ctx, payloads[0])
		if err != nil {
			return err
		}
		first = uint64(rev)
	} else {
		first, err = appendChanges(r.s.d, payloads, func(query string, args []any, each func(*sql.Rows) error) error {
			return r.query(ctx, query, args, each)
		})
		if err != nil {
			return err
		}
	}
	for i := range changes {
		changes[i].Revision = first + uint64(i)
	}
	last := first + uint64(len(changes)) - 1
	if keep := r.s.feed.retention; keep > 0 && last > uint64(keep) && last/pruneEvery != (first-1)/pruneEvery {
		if _, err := r.exec(ctx, r.s.fq.prune, int64(last)-keep); err != nil {
			return err
		}
	}
	if r.rec != nil {
		if r.rec.registered == 0 {
			r.rec.registered = first
			r.s.feed.register(first)
		}
		if r.rec.changes == nil {
			// The first changes of the write: kept as they are (every
			// caller hands over a slice it no longer uses), which
			// saves copying a batch's.
			r.rec.changes = changes
		} else {
			r.rec.changes = append(r.rec.changes, changes...)
		}
	}
	return nil
}

// append1 appends one change to the log and returns its revision.
func (r runner) append1(ctx context.Context, payload string) (int64, error) {
	if r.s.d == PostgreSQL {
		var rev int64
		err := r.queryRow(ctx, r.s.fq.append1, []any{payload}, &rev)
		return rev, err
	}
	res, err := r.exec(ctx, r.s.fq.append1, payload)
	if err != nil {
		return 0, err
	}
	// The last insert ID is this statement's only if it inserted a row.
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n != 1 {
		return 0, fmt.Errorf("change log insert wrote %d rows", n)
	}
	return res.LastInsertId()
}

// payloadsOf returns the stored form of changes. The revision inside is
// left 0: the row's revision column is the change's revision.
func payloadsOf(changes []store.Change) ([]string, error) {
	out := make([]string, len(changes))
	var buf []byte
	for i, ch := range changes {
		ch.Revision = 0
		if b, ok := appendBindingChange(buf[:0], &ch); ok {
			buf = b
			out[i] = string(b)
			continue
		}
		data, err := ch.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out[i] = string(data)
	}
	return out, nil
}

// appendBindingChange appends to buf what Change.MarshalJSON writes for a
// change with revision 0 of one of the three kinds that carry a whole
// binding, the change of nearly every write, without the reflection and
// the second pass over the output that encoding/json makes: in one run
// (BenchmarkChangePayload) it took a sixth of MarshalJSON's time, and a
// batch create of 10,000 bindings took 1.4 times as long when every
// change went through MarshalJSON. It reports false, and the caller uses
// MarshalJSON, for other kinds and for any string that JSON would escape;
// tests check that the two agree byte for byte and that what either
// writes reads back whole.
func appendBindingChange(buf []byte, ch *store.Change) ([]byte, bool) {
	switch ch.Kind {
	case store.BindingCreated, store.BindingRoleChanged, store.BindingDeleted:
	default:
		return buf, false
	}
	if ch.Revision != 0 {
		return buf, false
	}
	b := &ch.Binding
	for _, s := range [...]string{b.ID, b.RoleID, b.UserID, string(b.ResourceType), b.ResourceID} {
		if !plainJSON(s) {
			return buf, false
		}
	}
	buf = append(buf, `{"revision":0,"kind":"`...)
	buf = append(buf, ch.Kind.String()...)
	buf = append(buf, `","at":"`...)
	atFrom := len(buf)
	buf = appendTime(buf, ch.At)
	atTo := len(buf)
	buf = append(buf, `","binding":{"id":"`...)
	buf = append(buf, b.ID...)
	buf = append(buf, `","role_id":"`...)
	buf = append(buf, b.RoleID...)
	buf = append(buf, `","user_id":"`...)
	buf = append(buf, b.UserID...)
	buf = append(buf, `","resource_type":"`...)
	buf = append(buf, b.ResourceType...)
	buf = append(buf, `","resource_id":"`...)
	buf = append(buf, b.ResourceID...)
	buf = append(buf, `","created_at":"`...)
	buf = appendTimeAgain(buf, b.CreatedAt, ch.At, atFrom, atTo)
	buf = append(buf, `","updated_at":"`...)
	buf = appendTimeAgain(buf, b.UpdatedAt, ch.At, atFrom, atTo)
	buf = append(buf, `"}}`...)
	return buf, true
}

// appendTime appends what [rbac.FormatTime] returns for t.
func appendTime(buf []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(buf, rbac.TimeLayout)
}

// appendTimeAgain appends t, copying buf[from:to], where at was formatted,
// when t is the same instant: a create's three timestamps are one, and
// formatting a time was most of the encoding's cost.
func appendTimeAgain(buf []byte, t, at time.Time, from, to int) []byte {
	if !t.Equal(at) {
		return appendTime(buf, t)
	}
	return append(buf, buf[from:to]...)
}

// plainJSON reports whether s is written in JSON as is, between quotes:
// the characters of IDs (base64) and resource types.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// changeChunk is how many changes one INSERT into the change log carries:
// 1,000 rows of two parameters stay far below every engine's limit.
const changeChunk = 1000

// appendChanges appends several changes to the log, in order, and returns
// the revision of the first; the others have the revisions after it. It
// runs its statements with query, in the write's transaction.
func appendChanges(d *Dialect, payloads []string, query func(query string, args []any, each func(*sql.Rows) error) error) (uint64, error) {
	n := len(payloads)
	var first uint64
	if d == PostgreSQL {
		var last int64
		err := query(bumpRevisionPostgres, []any{n}, func(rows *sql.Rows) error { return rows.Scan(&last) })
		if err != nil {
			return 0, err
		}
		first = uint64(last) - uint64(n) + 1
	} else {
		// SQLite: the write lock keeps every other writer out, so the
		// next revisions are the ones after the log's AUTOINCREMENT
		// counter, which the inserts below move on.
		var cur int64
		err := query(readRevisionSQLite, nil, func(rows *sql.Rows) error { return rows.Scan(&cur) })
		if err != nil {
			return 0, err
		}
		first = uint64(cur) + 1
	}
	for k := 0; k < n; k += changeChunk {
		m := min(n-k, changeChunk)
		var b strings.Builder
		args := make([]any, 0, 2*m)
		b.WriteString("INSERT INTO rbac_changes (revision, payload) VALUES ")
		for i := range m {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?)")
			args = append(args, int64(first)+int64(k+i), payloads[k+i])
		}
		if err := query(d.rebind(b.String()), args, func(*sql.Rows) error { return nil }); err != nil {
			return 0, err
		}
	}
	return first, nil
}

// feedQueries are the feed's queries for one dialect.
type feedQueries struct {
	append1, read, changes, prune string
}

func makeFeedQueries(d *Dialect) feedQueries {
	q := feedQueries{
		append1: appendChangeSQLite,
		read:    readRevisionSQLite,
		changes: d.rebind(readChanges),
		prune:   d.rebind(pruneChanges),
	}
	if d == PostgreSQL {
		q.append1, q.read = appendChangePostgres, readRevisionPostgres
	}
	return q
}

// all returns the queries to prepare when the store opens.
func (q feedQueries) all() []string {
	return []string{q.append1, q.read, q.changes, q.prune}
}

// Revision returns the revision of the last committed write; see
// [store.ChangeFeed.Revision].
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, internal("revision", err)
	}
	var rev int64
	err := s.retry(ctx, func() error { return s.pool().queryRow(ctx, s.fq.read, nil, &rev) })
	if err != nil {
		return 0, internal("revision", err)
	}
	return uint64(rev), nil
}

// Changes returns the committed changes after a revision; see
// [store.ChangeFeed.Changes]. Changes older than the retention (see
// [Options].ChangeRetention) give a [*store.CompactedError].
func (s *Store) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	if limit < 1 || limit > store.MaxChanges {
		return nil, rbac.Invalid("limit", rbac.ReasonOutOfRange, fmt.Sprintf("must be from 1 to %d", store.MaxChanges))
	}
	if err := ctx.Err(); err != nil {
		return nil, internal("changes", err)
	}
	if after > maxRevision {
		return []store.Change{}, nil
	}
	var out []store.Change
	err := s.retry(ctx, func() error {
		out = make([]store.Change, 0, min(limit, 64))
		return s.pool().query(ctx, s.fq.changes, []any{int64(after), limit}, func(rows *sql.Rows) error {
			var rev int64
			var payload string
			if err := rows.Scan(&rev, &payload); err != nil {
				return err
			}
			var ch store.Change
			if err := json.Unmarshal([]byte(payload), &ch); err != nil {
				return fmt.Errorf("change %d: %w", rev, err)
			}
			ch.Revision = uint64(rev)
			out = append(out, ch)
			return nil
		})
	})
	if err != nil {
		return nil, internal("changes", err)
	}
	if len(out) > 0 && out[0].Revision != after+1 {
		// The log holds later changes but not the next one: it was
		// pruned (revisions have no gaps).
		return nil, &store.CompactedError{After: after, Oldest: out[0].Revision}
	}
	for i := 1; i < len(out); i++ {
		if out[i].Revision != out[i-1].Revision+1 {
			return nil, internal("changes", fmt.Errorf("change log has a gap between revisions %d and %d", out[i-1].Revision, out[i].Revision))
		}
	}
	return out, nil
}

// maxRevision is the largest revision the database's bigint holds.
const maxRevision = 1<<63 - 1

// Snapshot reads the whole state in one read transaction; see
// [store.ChangeFeed.Snapshot]. PostgreSQL reads at REPEATABLE READ;
// SQLite's read transaction sees one snapshot of the file (WAL) from its
// first read. Rows are passed to fn as they are read, never gathered, so
// a large store costs no more memory than a small one.
func (s *Store) Snapshot(ctx context.Context, fn func(store.Change) error) (uint64, error) {
	at := rbac.StoreTime(s.now())
	return s.readAll(ctx, "snapshot", func(rec Record) error {
		ch := store.Change{At: at}
		switch rec.Kind {
		case RoleRecord:
			ch.Kind, ch.Role = store.RoleCreated, rec.Role
		case ProjectRecord:
			ch.Kind, ch.ProjectID, ch.SpaceID = store.ProjectSpaceSet, rec.ProjectID, rec.SpaceID
		case RestrictionRecord:
			ch.Kind, ch.ProjectID = store.ProjectRestricted, rec.Restriction.ProjectID
		case BindingRecord:
			ch.Kind, ch.Binding = store.BindingCreated, rec.Binding
		}
		return fn(ch)
	})
}

// rawQuery runs a query that is not prepared (read once per snapshot) in
// the runner's transaction.
func (r runner) rawQuery(ctx context.Context, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := r.tx.QueryContext(ctx, r.s.d.rebind(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// Subscribe registers fn; see [store.ChangeFeed.Subscribe]. A Store calls
// its subscribers with the changes of the writes made through it, after
// each commits and before the write method returns, in revision order
// (the writes of other Stores and processes leave gaps, which a follower
// fills from Changes), one change at a time, outside every lock that the
// store's reads need: fn may call Changes, Revision and the read methods,
// but not the write methods, nor cancel (which waits for the calls under
// way, fn's own among them).
//
// Writes made through a [TxStore] are not passed to subscribers: they
// commit when the host commits, which the store does not see. They are
// in the change log like every write, so a follower picks them up at its
// next poll, or at once with [check.Follower.Sync].
func (s *Store) Subscribe(fn func(store.Change)) (cancel func()) {
	return s.feed.subs.Subscribe(fn)
}
