package memstore

import (
	"context"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// restrictRec is one restricted project.
type restrictRec struct {
	project string
	at      int64
	seq     uint64
}

// resourceFacts is what a Store knows about resources besides bindings:
// the space of each project and the restricted projects. Guarded by the
// Store's mu.
type resourceFacts struct {
	links map[string]string // project → space
	byID  map[string]uint32 // restricted project → slot
	slots slotTable[restrictRec]
	order seqList // restricted projects in the order they were restricted
	seq   uint64
}

// projectID checks a project ID argument (field "project_id") and returns
// its canonical (Model) form.
func (s *Store) projectID(id string) (string, error) {
	return s.validator.ID("project_id", ids.Project, id)
}

// SetProjectSpace links a project to its space; see
// [store.ResourceStore.SetProjectSpace].
func (s *Store) SetProjectSpace(ctx context.Context, projectID, spaceID string) error {
	projectID, pErr := s.projectID(projectID)
	spaceID, sErr := s.validator.ID("space_id", ids.Space, spaceID)
	if err := rbac.JoinInvalid(pErr, sErr); err != nil {
		return err
	}
	return s.write(ctx, func() (pending, error) {
		f := &s.projects
		if cur, ok := f.links[projectID]; ok && cur == spaceID {
			return pending{}, nil
		}
		// The store keeps its own copies, so that a caller's string that
		// shares memory with a larger buffer is not kept alive.
		projectID, spaceID := strings.Clone(projectID), strings.Clone(spaceID)
		f.links[projectID] = spaceID
		return s.log(changeRec{kind: store.ProjectSpaceSet, at: s.stamp(), res: projectID, user: spaceID}), nil
	})
}

// ProjectSpace returns the space of a project; see
// [store.ResourceStore.ProjectSpace].
func (s *Store) ProjectSpace(ctx context.Context, projectID string) (string, error) {
	projectID, err := s.projectID(projectID)
	if err != nil {
		return "", err
	}
	if err := done(ctx); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	space, ok := s.projects.links[projectID]
	if !ok {
		return "", core.NoProjectSpace(projectID)
	}
	return space, nil
}

// RestrictProject restricts a project; see
// [store.ResourceStore.RestrictProject].
func (s *Store) RestrictProject(ctx context.Context, projectID string) error {
	projectID, err := s.projectID(projectID)
	if err != nil {
		return err
	}
	return s.write(ctx, func() (pending, error) {
		f := &s.projects
		if _, ok := f.byID[projectID]; ok {
			return pending{}, nil
		}
		projectID := strings.Clone(projectID)
		at := s.stamp()
		f.seq++
		slot := f.slots.put(restrictRec{project: projectID, at: at, seq: f.seq})
		f.byID[projectID] = slot
		f.order.insert(entry{seq: f.seq, slot: slot})
		return s.log(changeRec{kind: store.ProjectRestricted, at: at, res: projectID}), nil
	})
}

// UnrestrictProject lifts a restriction; see
// [store.ResourceStore.UnrestrictProject].
func (s *Store) UnrestrictProject(ctx context.Context, projectID string) error {
	projectID, err := s.projectID(projectID)
	if err != nil {
		return err
	}
	return s.write(ctx, func() (pending, error) {
		f := &s.projects
		slot, ok := f.byID[projectID]
		if !ok {
			return pending{}, core.NotRestricted(projectID)
		}
		rec := f.slots.items[slot]
		delete(f.byID, projectID)
		f.order.remove(rec.seq)
		f.slots.release(slot)
		return s.log(changeRec{kind: store.ProjectUnrestricted, at: s.stamp(), res: rec.project}), nil
	})
}

// ListRestricted returns one page of restricted projects; see
// [store.ResourceStore.ListRestricted].
func (s *Store) ListRestricted(ctx context.Context, q rbac.RestrictedQuery) (rbac.RestrictedPage, error) {
	q, after, err := core.CheckRestrictedQuery(s.validator, s.cursors, q)
	if err != nil {
		return rbac.RestrictedPage{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.RestrictedPage{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f := &s.projects
	page := rbac.RestrictedPage{Projects: []rbac.Restriction{}}
	var last uint64
	for it := f.order.after(after); ; it.next() {
		e, ok := it.peek()
		if !ok {
			break
		}
		if len(page.Projects) == q.Limit {
			page.HasMore = true
			page.NextCursor = s.cursors.Encode(store.RestrictedCursorQuery(), last)
			break
		}
		rec := f.slots.items[e.slot]
		page.Projects = append(page.Projects, rbac.Restriction{ProjectID: rec.project, RestrictedAt: fromMicros(rec.at)})
		last = e.seq
	}
	return page, nil
}
