package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/httpapi"
)

func newProjectsCmd(a *app) *cobra.Command {
	cmd := newGroup("projects", "Tell the library which space a project belongs to")
	cmd.Aliases = []string{"project"}
	cmd.AddCommand(&cobra.Command{
		Use:   "set-space PROJECT_ID SPACE_ID",
		Short: "Record the space a project belongs to",
		Long: `set-space records that the project belongs to the space, moving it if it
belonged to another: from then on a check on the project inherits from the
space's bindings. The REST API has no route for it; hosts tell the library.`,
		Args:        cobra.ExactArgs(2),
		Annotations: posArgs("project_id", "PROJECT_ID", "space_id", "SPACE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.SetProjectSpace(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			// Read it back for the canonical (Model) form of the project.
			project, err := a.canonicalProject(args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, struct {
					ProjectID string `json:"project_id"`
					SpaceID   string `json:"space_id"`
				}{project, args[1]})
			}
			_, err = fmt.Fprintf(a.stdout, "project %s is in space %s\n", project, args[1])
			return err
		},
	})
	return cmd
}

func newRestrictionsCmd(a *app) *cobra.Command {
	cmd := newGroup("resource-restrictions", "Restrict projects: cut off inheritance from their space")
	cmd.Aliases = []string{"resource-restriction"}
	var projectID string
	create := &cobra.Command{
		Use:   "create --resource-id PROJECT_ID",
		Short: "Restrict a project",
		Long: `create restricts a project: from then on only bindings on the project
itself count, and space bindings whose role holds PROJECT_RESTRICT.
Restricting a restricted project changes nothing and shows the record.`,
		Args:        cobra.NoArgs,
		Annotations: posArgs("project_id", "--resource-id"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.RestrictProject(cmd.Context(), projectID); err != nil {
				return err
			}
			id, err := a.canonicalProject(projectID)
			if err != nil {
				return err
			}
			// The store has no lookup by project: walk the list, which
			// is short, as the REST API does.
			q := rbac.RestrictedQuery{Limit: rbac.MaxLimit}
			for {
				page, err := s.ListRestricted(cmd.Context(), q)
				if err != nil {
					return err
				}
				for _, r := range page.Projects {
					if r.ProjectID == id {
						return a.writeRestrictions(false, pagination{}, r)
					}
				}
				if !page.HasMore {
					return rbac.NotFound("project %s is not restricted", id)
				}
				q.Cursor = page.NextCursor
			}
		},
	}
	create.Flags().StringVar(&projectID, "resource-id", "", "the project's global ID")
	del := &cobra.Command{
		Use:         "delete PROJECT_ID",
		Short:       "Lift the restriction of a project",
		Args:        cobra.ExactArgs(1),
		Annotations: posArgs("project_id", "PROJECT_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.UnrestrictProject(cmd.Context(), args[0]); err != nil {
				return err
			}
			if !a.json() {
				fmt.Fprintf(a.stdout, "project %s unrestricted\n", args[0])
			}
			return nil
		},
	}
	var p paging
	list := &cobra.Command{
		Use:   "list",
		Short: "List restricted projects, in the order they were restricted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			q := rbac.RestrictedQuery{Limit: p.limit, Cursor: p.cursor}
			var all []rbac.Restriction
			var page rbac.RestrictedPage
			for {
				page, err = s.ListRestricted(cmd.Context(), q)
				if err != nil {
					return err
				}
				all = append(all, page.Projects...)
				if !p.all || !page.HasMore {
					break
				}
				q.Cursor = page.NextCursor
			}
			return a.writeRestrictions(true, pagination{page.HasMore, page.NextCursor}, all...)
		},
	}
	p.flags(list)
	cmd.AddCommand(create, del, list)
	return cmd
}

// canonicalProject returns a project ID in the canonical (Model) form
// the store keeps, as the store would read it.
func (a *app) canonicalProject(id string) (string, error) {
	return validateDefault().Resource(rbac.Project, id)
}

// writeRestrictions writes one restriction, or a list of them, as the
// REST API's body, or as a table.
func (a *app) writeRestrictions(list bool, pg pagination, rs ...rbac.Restriction) error {
	if a.json() {
		if !list {
			return writeJSON(a.stdout, httpapi.NewRestrictionBody(rs[0]))
		}
		out := make([]httpapi.RestrictionBody, len(rs))
		for i, r := range rs {
			out[i] = httpapi.NewRestrictionBody(r)
		}
		return writeJSON(a.stdout, struct {
			Restrictions []httpapi.RestrictionBody `json:"resource_restrictions"`
			Pagination   pagination                `json:"pagination"`
		}{out, pg})
	}
	t := newTable(a.stdout, "RESOURCE-ID", "RESOURCE-TYPE", "CREATED-AT")
	for _, r := range rs {
		w := httpapi.NewRestrictionBody(r)
		t.row(w.ResourceID, w.ResourceType, w.CreatedAt)
	}
	if err := t.flush(); err != nil {
		return err
	}
	a.more(pg)
	return nil
}
