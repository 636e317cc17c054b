package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/rolebind/rbac/store"
)

// ErrRewound is matched by the errors that say the store's history went
// back behind the checker: the store's newest revision is below the
// checker's, or it holds, at a revision the checker applied, another
// change than the one the checker applied there. That is what a database
// restored from a backup, or a SQLite file that lost its WAL in a crash,
// looks like from here: the writes after the restored state are gone, and
// the revisions they had are handed out again to new writes.
//
// An index built from the lost writes answers for a history the store no
// longer has (a revoked administrator is allowed again, or a grant made
// after the backup is still allowed), so it is not caught up but replaced:
// a [Follower] and [Checker.CatchUp] load a snapshot when they find it,
// and report it with an error matching ErrRewound. [Checker.Apply]
// returns it and applies nothing more until [Checker.Load].
var ErrRewound = errors.New("check: the store's history went back behind the checker")

// historySize is how many of the latest applied revisions the checker
// remembers by digest: one page of [store.ChangeFeed.Changes], so that
// reading back what it could not compare yet costs a poll at most one
// page more.
const historySize = store.MaxChanges

// applied is what the checker remembers of the change it applied at a
// revision.
type applied struct {
	rev uint64
	sum uint64
}

// history remembers digests of the latest changes applied, by revision,
// so that a change met again at a revision already applied (from the
// subscription, or read back from the feed) can be told apart from the
// one applied: same digest, same change, seen twice; another digest, the
// store's history is not the one the index was built from. All of it is
// kept on the apply path, under the checker's applyMu; checks never look
// at it.
type history struct {
	seed maphash.Seed
	ring [historySize]applied
	// verified is the revision up to which the changes applied have been
	// read from, or compared with, the store's feed. Changes applied from
	// the subscription are not, until a poll reads them back: that is how
	// a rewind that happened between two of this process's writes, and
	// that other processes' writes have already carried past the
	// checker's revision, is still found.
	verified uint64
	// rewound, when not nil, says that the index holds changes the store
	// no longer has: it is cleared by the next snapshot load, and until
	// then nothing more is applied on top.
	rewound error
}

// reset forgets every digest: a snapshot at revision rev replaces the
// index, and with it the history that index was built from.
func (h *history) reset(rev uint64) {
	clear(h.ring[:])
	h.verified = rev
	h.rewound = nil
}

func (h *history) record(rev, sum uint64) { h.ring[rev%historySize] = applied{rev, sum} }

// lookup returns the digest of the change applied at rev, if remembered.
func (h *history) lookup(rev uint64) (uint64, bool) {
	a := h.ring[rev%historySize]
	return a.sum, a.rev == rev && rev != 0
}

// compare checks a change of digest sum met at revision rev, which the
// index has applied. It returns nil when it is the change applied there,
// errUnremembered when the digest of that revision is not kept (a
// snapshot was loaded since, or the ring has moved on), and an error
// matching ErrRewound, also kept as h.rewound, when it differs.
func (h *history) compare(rev, sum uint64) error {
	want, ok := h.lookup(rev)
	switch {
	case !ok:
		return errUnremembered
	case want != sum:
		h.rewound = fmt.Errorf("%w: the store's change at revision %d is not the one the checker applied there", ErrRewound, rev)
		return h.rewound
	}
	return nil
}

// errUnremembered is applyLocked's answer for a change at a revision the
// index has applied but whose digest it no longer keeps: it cannot say
// whether the store still has that change. Apply treats it as the change
// already applied, as it always did; a Follower reads the feed to find
// out (see catchUpLocked).
var errUnremembered = errors.New("check: change at an applied revision that the checker no longer remembers")

// digest returns a 64-bit digest of everything a change carries except
// its revision. Every field counts, the times included: the same write
// arrives identical from the subscription and from the feed (the store
// contract), while a write made after a restore, even one that grants
// the same thing, differs at least in its time. IDs are taken as the
// checker applies them, in canonical form.
func (h *history) digest(ch *store.Change) uint64 {
	var d maphash.Hash
	d.SetSeed(h.seed)
	var buf [12]byte
	str := func(s string) {
		// Length first, so that no two sequences of strings write the
		// same bytes.
		binary.LittleEndian.PutUint64(buf[:8], uint64(len(s)))
		d.Write(buf[:8])
		d.WriteString(s)
	}
	at := func(t time.Time) {
		binary.LittleEndian.PutUint64(buf[:8], uint64(t.Unix()))
		binary.LittleEndian.PutUint32(buf[8:], uint32(t.Nanosecond()))
		d.Write(buf[:])
	}
	d.WriteByte(byte(ch.Kind))
	at(ch.At)
	b := &ch.Binding
	str(b.ID)
	str(b.RoleID)
	str(b.UserID)
	str(string(b.ResourceType))
	str(b.ResourceID)
	at(b.CreatedAt)
	at(b.UpdatedAt)
	r := &ch.Role
	str(r.ID)
	str(r.Name)
	str(r.Description)
	binary.LittleEndian.PutUint64(buf[:8], uint64(len(r.Permissions)))
	d.Write(buf[:8])
	for _, p := range r.Permissions {
		// Sorted, by the contract of rbac.Role: order is content.
		str(p)
	}
	if r.Predefined {
		d.WriteByte(1)
	} else {
		d.WriteByte(0)
	}
	at(r.CreatedAt)
	at(r.UpdatedAt)
	str(ch.ProjectID)
	str(ch.SpaceID)
	return d.Sum64()
}
