package memstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
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
	return s.v.ID("project_id", ids.Project, id)
}

// SetProjectSpace links a project to its space; see
// [store.ResourceStore.SetProjectSpace].
func (s *Store) SetProjectSpace(ctx context.Context, projectID, spaceID string) error {
	projectID, pErr := s.projectID(projectID)
	spaceID, sErr := s.v.ID("space_id", ids.Space, spaceID)
	if err := rbac.JoinInvalid(pErr, sErr); err != nil {
		return err
	}
	if err := s.lockLive(ctx); err != nil {
		return err
	}
	f := &s.facts
	if cur, ok := f.links[projectID]; ok && cur == spaceID {
		s.mu.Unlock()
		return nil
	}
	// The store keeps its own copies, so that a caller's string that
	// shares memory with a larger buffer is not kept alive.
	projectID, spaceID = strings.Clone(projectID), strings.Clone(spaceID)
	f.links[projectID] = spaceID
	s.commit(changeRec{kind: store.ProjectSpaceSet, at: s.stamp(), res: projectID, user: spaceID})
	return nil
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
	space, ok := s.facts.links[projectID]
	if !ok {
		return "", fmt.Errorf("memstore: %w: no space is set for project %s", rbac.ErrNotFound, projectID)
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
	if err := s.lockLive(ctx); err != nil {
		return err
	}
	f := &s.facts
	if _, ok := f.byID[projectID]; ok {
		s.mu.Unlock()
		return nil
	}
	projectID = strings.Clone(projectID)
	at := s.stamp()
	f.seq++
	slot := f.slots.put(restrictRec{project: projectID, at: at, seq: f.seq})
	f.byID[projectID] = slot
	f.order.insert(entry{seq: f.seq, slot: slot})
	s.commit(changeRec{kind: store.ProjectRestricted, at: at, res: projectID})
	return nil
}

// UnrestrictProject lifts a restriction; see
// [store.ResourceStore.UnrestrictProject].
func (s *Store) UnrestrictProject(ctx context.Context, projectID string) error {
	projectID, err := s.projectID(projectID)
	if err != nil {
		return err
	}
	if err := s.lockLive(ctx); err != nil {
		return err
	}
	f := &s.facts
	slot, ok := f.byID[projectID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("memstore: %w: project %s is not restricted", rbac.ErrNotFound, projectID)
	}
	rec := f.slots.items[slot]
	delete(f.byID, projectID)
	f.order.remove(rec.seq)
	f.slots.release(slot)
	s.commit(changeRec{kind: store.ProjectUnrestricted, at: s.stamp(), res: rec.project})
	return nil
}

// ListRestricted returns one page of restricted projects; see
// [store.ResourceStore.ListRestricted].
func (s *Store) ListRestricted(ctx context.Context, q rbac.RestrictedQuery) (rbac.RestrictedPage, error) {
	q, qErr := s.v.RestrictedQuery(q)
	after, cErr := s.cursors.Decode(store.RestrictedCursorQuery(), q.Cursor)
	if err := rbac.JoinInvalid(qErr, cErr); err != nil {
		return rbac.RestrictedPage{}, err
	}
	if err := done(ctx); err != nil {
		return rbac.RestrictedPage{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f := &s.facts
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
