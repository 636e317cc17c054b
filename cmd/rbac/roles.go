package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/httpapi"
)

// permissionFlag names the flag of field "permissions", which is
// singular since it repeats.
var permissionFlag = posArgs("permissions", "--permission")

// roleArg names the ID argument in messages about field "id".
var roleArg = posArgs("id", "ROLE_ID")

func newRolesCmd(a *app) *cobra.Command {
	cmd := newGroup("roles", "Create, read, update and delete roles")
	cmd.Aliases = []string{"role"}
	cmd.AddCommand(newRoleCreateCmd(a), newRoleGetCmd(a), newRoleUpdateCmd(a), newRoleDeleteCmd(a), newRoleListCmd(a))
	return cmd
}

func newRoleCreateCmd(a *app) *cobra.Command {
	var nr rbac.NewRole
	cmd := &cobra.Command{
		Use:   "create --name NAME [--description TEXT] --permission P [--permission P ...]",
		Short: "Create a custom role",
		Long: `create makes a custom role with a name unique among roles and at least one
permission of the vocabulary (see rbac permissions). --permission repeats,
or takes a comma-separated list.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			r, err := s.CreateRole(cmd.Context(), nr)
			if err != nil {
				return err
			}
			return a.writeRole(r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nr.Name, "name", "", "the role's name, unique among roles")
	f.StringVar(&nr.Description, "description", "", "what the role is for")
	f.StringSliceVar(&nr.Permissions, "permission", nil, "a permission the role holds (repeat for more)")
	cmd.Annotations = permissionFlag
	return cmd
}

func newRoleGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "get ROLE_ID",
		Short:       "Show a role with its permissions",
		Args:        cobra.ExactArgs(1),
		Annotations: roleArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			r, err := s.GetRole(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.writeRole(r)
		},
	}
}

func newRoleUpdateCmd(a *app) *cobra.Command {
	var name, desc, since string
	var perms []string
	cmd := &cobra.Command{
		Use:   "update ROLE_ID [--name NAME] [--description TEXT] [--permission P ...] [--if-updated-at TIME]",
		Short: "Update a custom role",
		Long: `update changes what its flags name and keeps the rest. --permission
replaces the whole permission set, and widens or narrows access at once for
every binding of the role. --description "" clears the description.
Predefined roles cannot be changed.`,
		Args:        cobra.ExactArgs(1),
		Annotations: posArgs("id", "ROLE_ID", "permissions", "--permission"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u rbac.RoleUpdate
			var err error
			if u.IfUpdatedAt, err = parseTime("--if-updated-at", since); err != nil {
				return err
			}
			f := cmd.Flags()
			if f.Changed("name") {
				u.Name = &name
			}
			if f.Changed("description") {
				u.Description = &desc
			}
			if f.Changed("permission") {
				u.Permissions = append([]string{}, perms...)
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			r, err := s.UpdateRole(cmd.Context(), args[0], u)
			if err != nil {
				return err
			}
			return a.writeRole(r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the new name")
	f.StringVar(&desc, "description", "", "the new description")
	f.StringSliceVar(&perms, "permission", nil, "the new permission set (repeat for more)")
	f.StringVar(&since, "if-updated-at", "", "update only if the role's updated_at is still this (RFC 3339)")
	return cmd
}

func newRoleDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "delete ROLE_ID",
		Short:       "Delete a custom role that no binding uses",
		Args:        cobra.ExactArgs(1),
		Annotations: roleArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.DeleteRole(cmd.Context(), args[0]); err != nil {
				return err
			}
			if !a.json() {
				fmt.Fprintf(a.stdout, "role %s deleted\n", args[0])
			}
			return nil
		},
	}
}

func newRoleListCmd(a *app) *cobra.Command {
	var p paging
	var predefined string
	cmd := &cobra.Command{
		Use:   "list [--predefined true|false]",
		Short: "List roles, the predefined catalogue first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if predefined != "" && predefined != "true" && predefined != "false" {
				return usagef("--predefined: %q is not true or false", predefined)
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			// The store has no predefined filter; as the REST API does,
			// filter here and read on until the page is full, so that a
			// page is as long as --limit unless the list ends.
			n := p.limit
			if n == 0 {
				n = rbac.DefaultLimit
			}
			q := rbac.RoleQuery{Limit: p.limit, Cursor: p.cursor}
			out := []httpapi.RoleBody{}
			var page rbac.RolePage
			for {
				page, err = s.ListRoles(cmd.Context(), q)
				if err != nil {
					return err
				}
				for _, r := range page.Roles {
					if predefined == "" || strconv.FormatBool(r.Predefined) == predefined {
						out = append(out, httpapi.NewRoleBody(r))
					}
				}
				if !page.HasMore || (!p.all && len(out) >= n) {
					break
				}
				q.Cursor = page.NextCursor
				if !p.all {
					q.Limit = n - len(out)
				}
			}
			pg := pagination{page.HasMore, page.NextCursor}
			if a.json() {
				return writeJSON(a.stdout, struct {
					Roles      []httpapi.RoleBody `json:"roles"`
					Pagination pagination         `json:"pagination"`
				}{out, pg})
			}
			t := newTable(a.stdout, "ID", "NAME", "PREDEFINED", "PERMISSIONS", "DESCRIPTION")
			for _, r := range out {
				t.row(r.ID, r.Name, strconv.FormatBool(r.Predefined), strconv.Itoa(len(r.Permissions)), r.Description)
			}
			if err := t.flush(); err != nil {
				return err
			}
			a.more(pg)
			return nil
		},
	}
	cmd.Flags().StringVar(&predefined, "predefined", "", "only predefined (true) or custom (false) roles")
	p.flags(cmd)
	return cmd
}

// writeRole writes one role as the REST API's body, or as a list of its
// fields with the permissions one a line.
func (a *app) writeRole(r rbac.Role) error {
	if a.json() {
		return writeJSON(a.stdout, httpapi.NewRoleBody(r))
	}
	w := httpapi.NewRoleBody(r)
	t := newTable(a.stdout, "ID:", w.ID)
	t.row("Name:", w.Name)
	t.row("Description:", w.Description)
	t.row("Predefined:", strconv.FormatBool(w.Predefined))
	t.row("Created at:", w.CreatedAt)
	t.row("Updated at:", w.UpdatedAt)
	t.row("Permissions:", strings.Join(w.Permissions, ", "))
	return t.flush()
}
