package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rolebind/rbac"
)

// ChangeKind says what a [Change] did.
type ChangeKind uint8

// The kinds of change. The numbers are stable (stores may persist them);
// new kinds are only ever added at the end.
const (
	// BindingCreated: Change.Binding is the binding as created.
	BindingCreated ChangeKind = iota + 1
	// BindingRoleChanged: Change.Binding is the binding as it now is, with
	// its new RoleID and UpdatedAt. Setting the role a binding already has
	// is no change and is not recorded.
	BindingRoleChanged
	// BindingDeleted: Change.Binding is the binding as it was.
	BindingDeleted
	// UserBindingsDeleted: every binding of Change.Binding.UserID was
	// deleted in one step (the cascade of a deleted user). Recorded only
	// when at least one binding went.
	UserBindingsDeleted
	// ResourceBindingsDeleted: every binding on Change.Binding.ResourceType
	// and Change.Binding.ResourceID was deleted in one step (the cascade
	// of a deleted resource). Recorded only when at least one binding went.
	ResourceBindingsDeleted
	// RoleCreated: Change.Role is the role as created.
	RoleCreated
	// RoleUpdated: Change.Role is the role as it now is, with its whole
	// permission set.
	RoleUpdated
	// RoleDeleted: Change.Role is the role as it was.
	RoleDeleted
	// ProjectSpaceSet: project Change.ProjectID now belongs to space
	// Change.SpaceID (set for the first time, or moved).
	ProjectSpaceSet
	// ProjectRestricted: project Change.ProjectID was restricted.
	ProjectRestricted
	// ProjectUnrestricted: project Change.ProjectID was unrestricted.
	ProjectUnrestricted
)

var kindNames = [...]string{
	BindingCreated:          "binding.created",
	BindingRoleChanged:      "binding.role_changed",
	BindingDeleted:          "binding.deleted",
	UserBindingsDeleted:     "user.bindings_deleted",
	ResourceBindingsDeleted: "resource.bindings_deleted",
	RoleCreated:             "role.created",
	RoleUpdated:             "role.updated",
	RoleDeleted:             "role.deleted",
	ProjectSpaceSet:         "project.space_set",
	ProjectRestricted:       "project.restricted",
	ProjectUnrestricted:     "project.unrestricted",
}

// String returns the kind's stable name, such as "binding.created", which
// stores may persist and audit logs may print.
func (k ChangeKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("ChangeKind(%d)", uint8(k))
}

// Valid reports whether k is one of the kinds above.
func (k ChangeKind) Valid() bool { return k >= BindingCreated && k <= ProjectUnrestricted }

// ParseChangeKind returns the kind whose String is s.
func ParseChangeKind(s string) (ChangeKind, error) {
	for k, name := range kindNames {
		if name != "" && name == s {
			return ChangeKind(k), nil
		}
	}
	return 0, fmt.Errorf("store: unknown change kind %q", s)
}

// Change is one committed write, as the change feed reports it. Only the
// fields that its Kind names are set; the others are zero. A change carries
// everything a reader needs to apply it to a copy of the state (an
// in-memory index) without reading anything else: the whole binding, the
// whole role with its permission set.
type Change struct {
	// Revision is the write's place in the store's history: 1 for the
	// first write ever, then one more for each committed write, with no
	// gaps. Changes emitted by [ChangeFeed.Snapshot] have Revision 0.
	Revision uint64
	// Kind says what the write did and which fields below are set.
	Kind ChangeKind
	// At is the store's clock when the write was made ([rbac.StoreTime]
	// form), for audit logs. It is not an ordering: Revision is.
	At time.Time
	// Binding is set for the binding kinds (only UserID, or ResourceType
	// and ResourceID, for the cascades).
	Binding rbac.Binding
	// Role is set for the role kinds.
	Role rbac.Role
	// ProjectID is set for the project kinds, in canonical (Model) form.
	ProjectID string
	// SpaceID is set for ProjectSpaceSet.
	SpaceID string
}

// ChangeFeed is the history of a store's writes, in revision order. It is
// how an in-memory index (package check) stays in step with the store:
// load a snapshot, then apply every change after the snapshot's revision,
// in order. A store that implements [RoleStore] and [ResourceStore]
// implements ChangeFeed too, and every successful write of [Store],
// RoleStore and ResourceStore that changes something is exactly one
// change.
//
// # Revisions
//
// Every committed write gets the next revision: revisions start at 1,
// increase by one per write, and have no gaps, and revision order is
// commit order. That is what lets a reader apply changes one after the
// other and know that it has missed nothing: having applied revision N, it
// has seen every write up to N.
//
// A store shared by several processes through one database must assign
// revisions inside the writing transaction, serialised: a single counter
// row updated (UPDATE ... SET revision = revision + 1 RETURNING revision)
// in the same transaction that makes the write and inserts the change
// row. The counter's row lock, held until commit, orders the writers, so
// revision order is commit order; a transaction that rolls back rolls its
// revision back too, so there are no gaps; and a reader that sees revision
// N committed knows every revision below N is committed too. Sequences or
// auto-increment columns do not give this (they leave gaps on rollback and
// hand out numbers in start order, not commit order), nor do timestamps.
//
// # Retention
//
// A store may drop changes older than a retention window it documents
// (this module's stores keep [DefaultChangeRetention] changes unless told
// otherwise). A reader that falls behind the window gets a
// [*CompactedError] from Changes and must start again from a snapshot.
type ChangeFeed interface {
	// Revision returns the revision of the last committed write, 0 for a
	// store that has never been written.
	//
	// Errors: internal only.
	Revision(ctx context.Context) (uint64, error)

	// Changes returns the committed changes with revision greater than
	// after, in revision order, at most limit of them (limit 1 to 1000).
	// The result is consecutive: its first change has revision after+1,
	// and each next one the revision after it. An empty result means that
	// nothing after after is committed yet.
	//
	// Errors: ErrInvalid for a limit out of range (field "limit"); a
	// [*CompactedError], which matches [rbac.ErrNotFound], when changes
	// after after are no longer kept.
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)

	// Snapshot reads the whole state in one consistent read (in SQL, one
	// transaction at REPEATABLE READ or stricter, including the revision
	// counter) and calls fn with it as a sequence of changes with Revision
	// 0: RoleCreated for every role (predefined ones included), then
	// ProjectSpaceSet for every project link, ProjectRestricted for every
	// restricted project, and BindingCreated for every binding. Applying
	// them to an empty index gives the state as of the returned revision;
	// applying the feed's changes after that revision keeps it current.
	// An error from fn stops the read and is returned as is.
	//
	// Errors: internal only, or fn's error.
	Snapshot(ctx context.Context, fn func(Change) error) (revision uint64, err error)

	// Subscribe registers fn to be called after each write made through
	// this store value (this process) commits, with that write's change,
	// synchronously: the write method returns only after fn has returned.
	// That is what gives read your writes in one process without polling:
	// a checker subscribed here has applied a write before the caller of
	// the write learns that it succeeded. Cancel unregisters fn; after it
	// returns, fn is not called again.
	//
	// fn is not called for other processes' writes; those come only from
	// Changes. So a subscriber may see gaps in the revisions, and, when
	// writes run concurrently, may be called from several goroutines at
	// once and out of revision order; it fills gaps from Changes, which fn
	// may call (a store calls subscribers outside any lock that Changes
	// needs). A store that is not shared (memstore) calls subscribers in
	// revision order with no gaps. fn must not call the store's write
	// methods, and should be quick: it is on the write path.
	Subscribe(fn func(Change)) (cancel func())
}

// CompactedError says that the changes a reader asked for are older than
// the feed keeps. It matches [rbac.ErrNotFound]: the revision is well
// formed but names changes that no longer exist. The reader must load a
// snapshot.
type CompactedError struct {
	// After is the revision the reader asked for changes after.
	After uint64
	// Oldest is the oldest revision still kept.
	Oldest uint64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("store: changes after revision %d are compacted; oldest kept is %d", e.After, e.Oldest)
}

// Is makes a *CompactedError match [rbac.ErrNotFound].
func (e *CompactedError) Is(target error) bool { return target == rbac.ErrNotFound }

// DefaultChangeRetention is how many of the latest changes the change
// feeds of this module's stores keep when their options leave it open.
// One number for every store, so that a follower that falls behind by so
// many writes gets a [*CompactedError] from each of them alike. A follower
// in the same process is called on every write and never reads old
// changes; the log is there for followers that catch up after an error
// or from another process, and keeping every change would make a store
// grow with every write ever made rather than with what it holds.
const DefaultChangeRetention = 100_000

// MaxChanges is the largest limit [ChangeFeed.Changes] accepts.
const MaxChanges = 1000

// changeJSON is the wire and storage form of a Change: the kind by its
// stable name, the payload by the wire forms of bindings and roles.
type changeJSON struct {
	Revision  uint64        `json:"revision"`
	Kind      string        `json:"kind"`
	At        string        `json:"at"`
	Binding   *rbac.Binding `json:"binding,omitempty"`
	Role      *rbac.Role    `json:"role,omitempty"`
	ProjectID string        `json:"project_id,omitempty"`
	SpaceID   string        `json:"space_id,omitempty"`
}

// MarshalJSON writes the change with its kind's stable name and only the
// payload its kind uses, so a store can keep the payload of its change
// log in one text column and an audit log can print it.
func (c Change) MarshalJSON() ([]byte, error) {
	if !c.Kind.Valid() {
		return nil, fmt.Errorf("store: marshal change: unknown kind %d", c.Kind)
	}
	w := changeJSON{Revision: c.Revision, Kind: c.Kind.String(), At: rbac.FormatTime(c.At), ProjectID: c.ProjectID, SpaceID: c.SpaceID}
	switch c.Kind {
	case BindingCreated, BindingRoleChanged, BindingDeleted, UserBindingsDeleted, ResourceBindingsDeleted:
		w.Binding = &c.Binding
	case RoleCreated, RoleUpdated, RoleDeleted:
		w.Role = &c.Role
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Change) UnmarshalJSON(data []byte) error {
	var w struct {
		changeJSON
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	k, err := ParseChangeKind(w.Kind)
	if err != nil {
		return err
	}
	*c = Change{Revision: w.Revision, Kind: k, At: w.At.UTC(), ProjectID: w.ProjectID, SpaceID: w.SpaceID}
	if w.Binding != nil {
		c.Binding = *w.Binding
	}
	if w.Role != nil {
		c.Role = *w.Role
	}
	return nil
}
