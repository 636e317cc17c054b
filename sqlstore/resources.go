package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/internal/core"
	"github.com/rolebind/rbac/store"
)

// resourceQueries are the queries of project links and restrictions for
// one dialect.
type resourceQueries struct {
	setSpace, getSpace, restrict, unrestrict, listRestricted string
}

func makeResourceQueries(d *Dialect) resourceQueries {
	return resourceQueries{
		// Setting the space a project already has updates no row, so
		// "no row affected" is "no change".
		setSpace: d.rebind(`INSERT INTO rbac_project_spaces (project_id, space_id) VALUES (?, ?)
			ON CONFLICT (project_id) DO UPDATE SET space_id = excluded.space_id
			WHERE rbac_project_spaces.space_id <> excluded.space_id`),
		getSpace: d.rebind("SELECT space_id FROM rbac_project_spaces WHERE project_id = ?"),
		// Restricting a restricted project inserts no row and keeps its
		// restricted_at.
		restrict: d.rebind(`INSERT INTO rbac_restricted_projects (project_id, restricted_at) VALUES (?, ?)
			ON CONFLICT (project_id) DO NOTHING`),
		unrestrict:     d.rebind("DELETE FROM rbac_restricted_projects WHERE project_id = ?"),
		listRestricted: d.rebind("SELECT seq, project_id, restricted_at FROM rbac_restricted_projects WHERE seq > ? ORDER BY seq LIMIT ?"),
	}
}

func (q resourceQueries) prepared() []string {
	return []string{q.setSpace, q.getSpace, q.restrict, q.unrestrict, q.listRestricted}
}

// projectID checks a project ID argument (field "project_id") and returns
// its canonical (Model) form.
func (s *Store) projectID(id string) (string, error) {
	return s.v.ID("project_id", ids.Project, id)
}

// affected returns how many rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SetProjectSpace links a project to its space; see
// [store.ResourceStore.SetProjectSpace].
func (s *Store) SetProjectSpace(ctx context.Context, projectID, spaceID string) error {
	projectID, pErr := s.projectID(projectID)
	spaceID, sErr := s.v.ID("space_id", ids.Space, spaceID)
	if err := rbac.JoinInvalid(pErr, sErr); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return internal("set project space", err)
	}
	err := s.write(ctx, func(r runner) error {
		n, err := affected(r.exec(ctx, s.resq.setSpace, projectID, spaceID))
		if err != nil {
			return internal("set project space", err)
		}
		if n == 0 {
			return nil
		}
		return r.record(ctx, store.Change{Kind: store.ProjectSpaceSet, At: r.nowTime(), ProjectID: projectID, SpaceID: spaceID})
	})
	return withCtxErr(ctx, err)
}

// ProjectSpace returns the space of a project; see
// [store.ResourceStore.ProjectSpace].
func (s *Store) ProjectSpace(ctx context.Context, projectID string) (string, error) {
	projectID, err := s.projectID(projectID)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", internal("project space", err)
	}
	var space string
	err = s.retry(ctx, func() error { return s.pool().queryRow(ctx, s.resq.getSpace, []any{projectID}, &space) })
	if errors.Is(err, sql.ErrNoRows) {
		return "", core.NoProjectSpace(projectID)
	}
	if err != nil {
		return "", internal("project space", err)
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
	if err := ctx.Err(); err != nil {
		return internal("restrict project", err)
	}
	err = s.write(ctx, func(r runner) error {
		now := r.nowTime()
		n, err := affected(r.exec(ctx, s.resq.restrict, projectID, micros(now)))
		if err != nil {
			return internal("restrict project", err)
		}
		if n == 0 {
			return nil
		}
		return r.record(ctx, store.Change{Kind: store.ProjectRestricted, At: now, ProjectID: projectID})
	})
	return withCtxErr(ctx, err)
}

// UnrestrictProject lifts a restriction; see
// [store.ResourceStore.UnrestrictProject].
func (s *Store) UnrestrictProject(ctx context.Context, projectID string) error {
	projectID, err := s.projectID(projectID)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return internal("unrestrict project", err)
	}
	err = s.write(ctx, func(r runner) error {
		n, err := affected(r.exec(ctx, s.resq.unrestrict, projectID))
		if err != nil {
			return internal("unrestrict project", err)
		}
		if n == 0 {
			return core.NotRestricted(projectID)
		}
		return r.record(ctx, store.Change{Kind: store.ProjectUnrestricted, At: r.nowTime(), ProjectID: projectID})
	})
	return withCtxErr(ctx, err)
}

// ListRestricted returns one page of restricted projects; see
// [store.ResourceStore.ListRestricted].
func (s *Store) ListRestricted(ctx context.Context, q rbac.RestrictedQuery) (rbac.RestrictedPage, error) {
	q, after, err := core.CheckRestrictedQuery(s.v, s.cursors, q)
	if err != nil {
		return rbac.RestrictedPage{}, err
	}
	if err := ctx.Err(); err != nil {
		return rbac.RestrictedPage{}, internal("list restricted", err)
	}
	after = min(after, math.MaxInt64)
	var page rbac.RestrictedPage
	err = s.retry(ctx, func() error {
		page = rbac.RestrictedPage{Projects: make([]rbac.Restriction, 0, q.Limit)}
		var last int64
		err := s.pool().query(ctx, s.resq.listRestricted, []any{int64(after), q.Limit + 1}, func(rows *sql.Rows) error {
			if len(page.Projects) == q.Limit {
				page.HasMore = true
				return nil
			}
			var p rbac.Restriction
			var at int64
			if err := rows.Scan(&last, &p.ProjectID, &at); err != nil {
				return err
			}
			p.RestrictedAt = fromMicros(at)
			page.Projects = append(page.Projects, p)
			return nil
		})
		if page.HasMore {
			page.NextCursor = s.cursors.Encode(store.RestrictedCursorQuery(), uint64(last))
		}
		return err
	})
	if err != nil {
		return rbac.RestrictedPage{}, internal("list restricted", err)
	}
	return page, nil
}
