package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac"
)

// The role-bindings commands follow Arize's "ax role-bindings": the same
// flag names, the binding ID as the argument of get, update and delete
// (as kubectl takes a name), and with --output json the bodies of the
// REST API.

// bindingArg names the ID argument in messages about field "id".
var bindingArg = posArgs("id", "BINDING_ID")

func newRoleBindingsCmd(a *app) *cobra.Command {
	cmd := newGroup("role-bindings", "Create, read, change and delete role bindings")
	cmd.Aliases = []string{"role-binding", "rb"}
	cmd.AddCommand(newBindingCreateCmd(a), newBindingGetCmd(a), newBindingUpdateCmd(a), newBindingDeleteCmd(a), newBindingListCmd(a))
	return cmd
}

func newBindingCreateCmd(a *app) *cobra.Command {
	var nb rbac.NewBinding
	var rt string
	cmd := &cobra.Command{
		Use:   "create --user-id USER --role-id ROLE --resource-type SPACE|PROJECT --resource-id ID",
		Short: "Bind a role to a user on a space or project",
		Long: `create binds a role to a user on a resource. A user has at most one binding
per resource: to change the role, update the binding.

The command line acts as an account administrator: the escalation guard of
the REST API does not apply.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			nb.ResourceType = rbac.ResourceType(rt)
			b, err := s.Create(cmd.Context(), nb)
			if err != nil {
				return err
			}
			return a.writeBindings(b)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nb.UserID, "user-id", "", "the user's global ID (type User)")
	f.StringVar(&nb.RoleID, "role-id", "", "the role's global ID (type Role)")
	f.StringVar(&rt, "resource-type", "", "SPACE or PROJECT")
	f.StringVar(&nb.ResourceID, "resource-id", "", "the space's or project's global ID")
	return cmd
}

func newBindingGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "get BINDING_ID",
		Short:       "Show a role binding",
		Args:        cobra.ExactArgs(1),
		Annotations: bindingArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			b, err := s.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.writeBindings(b)
		},
	}
}

func newBindingUpdateCmd(a *app) *cobra.Command {
	var c rbac.RoleChange
	var since string
	cmd := &cobra.Command{
		Use:   "update BINDING_ID --role-id ROLE [--if-updated-at TIME]",
		Short: "Change the role of a role binding",
		Long: `update changes the role of a binding; nothing else of a binding can change.
With --if-updated-at (the updated_at the caller last saw, RFC 3339), the
change is refused with a conflict if the binding changed since, so that two
administrators cannot silently overwrite each other.`,
		Args:        cobra.ExactArgs(1),
		Annotations: bindingArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := parseTime("--if-updated-at", since)
			if err != nil {
				return err
			}
			c.IfUpdatedAt = t
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			b, err := s.ChangeRole(cmd.Context(), args[0], c)
			if err != nil {
				return err
			}
			return a.writeBindings(b)
		},
	}
	cmd.Flags().StringVar(&c.RoleID, "role-id", "", "the new role's global ID")
	cmd.Flags().StringVar(&since, "if-updated-at", "", "change only if the binding's updated_at is still this (RFC 3339)")
	return cmd
}

// parseTime reads an optional RFC 3339 time of a flag.
func parseTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usagef("%s: %q is not an RFC 3339 time such as 2025-01-02T15:04:05.123456Z", flag, v)
	}
	return t, nil
}

func newBindingDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "delete BINDING_ID",
		Short:       "Delete a role binding",
		Long:        `delete removes a binding. Its ID is never reused. With --output json it prints nothing, as the REST API answers 204.`,
		Args:        cobra.ExactArgs(1),
		Annotations: bindingArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.Delete(cmd.Context(), args[0]); err != nil {
				return err
			}
			if !a.json() {
				fmt.Fprintf(a.stdout, "role binding %s deleted\n", args[0])
			}
			return nil
		},
	}
}

func newBindingListCmd(a *app) *cobra.Command {
	var q rbac.ListQuery
	var rt string
	var p paging
	cmd := &cobra.Command{
		Use:   "list [--resource-type T] [--user-id U] [--resource-id R] [--role-id ROLE]",
		Short: "List role bindings, in creation order",
		Long: `list lists the bindings matching every filter given, in creation order. The
REST API requires --resource-type; the library, and so this command, lists
both types without it. --resource-id needs --resource-type, which says what
kind of ID it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			q.ResourceType = rbac.ResourceType(rt)
			q.Limit, q.Cursor = p.limit, p.cursor
			var all []rbac.Binding
			var page rbac.Page
			for {
				page, err = s.List(cmd.Context(), q)
				if err != nil {
					return err
				}
				all = append(all, page.Bindings...)
				if !p.all || !page.HasMore {
					break
				}
				q.Cursor = page.NextCursor
			}
			pg := pagination{page.HasMore, page.NextCursor}
			if a.json() {
				if all == nil {
					all = []rbac.Binding{}
				}
				return writeJSON(a.stdout, struct {
					Bindings   []rbac.Binding `json:"role_bindings"`
					Pagination pagination     `json:"pagination"`
				}{all, pg})
			}
			if err := a.writeBindings(all...); err != nil {
				return err
			}
			a.more(pg)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rt, "resource-type", "", "only bindings on SPACE or PROJECT resources")
	f.StringVar(&q.UserID, "user-id", "", "only the bindings of this user")
	f.StringVar(&q.ResourceID, "resource-id", "", "only the bindings on this resource (needs --resource-type)")
	f.StringVar(&q.RoleID, "role-id", "", "only the bindings of this role")
	p.flags(cmd)
	return cmd
}

// writeBindings writes one binding as the REST API's body, or bindings
// as a table.
func (a *app) writeBindings(bs ...rbac.Binding) error {
	if a.json() && len(bs) == 1 {
		return writeJSON(a.stdout, bs[0])
	}
	t := newTable(a.stdout, "ID", "USER-ID", "ROLE-ID", "RESOURCE-TYPE", "RESOURCE-ID", "UPDATED-AT")
	for _, b := range bs {
		t.row(b.ID, b.UserID, b.RoleID, string(b.ResourceType), b.ResourceID, rbac.FormatTime(b.UpdatedAt))
	}
	return t.flush()
}
