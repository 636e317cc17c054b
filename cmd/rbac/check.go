package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/check"
)

// checkCost is said in the help of every command that loads a checker.
const checkCost = `
Each invocation loads every binding of the database into memory before it
answers (about the time BENCHMARKS.md gives for "rbac check"). A service
that checks on every request embeds the library instead: it opens the
store once and keeps a check.Checker current with check.Follow, so that a
check is a map lookup in the service's own process.`

func newCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "check USER PERMISSION TYPE RESOURCE",
		Short: "Check whether a user may do something on a resource",
		Long: `check answers whether USER may do PERMISSION on the resource of TYPE
(SPACE or PROJECT) and ID RESOURCE, with inheritance from a project's space
and restrictions, and exits 0 when allowed, 1 when denied.` + checkCost,
		Example:     "  rbac check VXNlcjoxOmxQZzI= PROJECT_READ SPACE U3BhY2U6MTp1Rk4x",
		Args:        cobra.ExactArgs(4),
		Annotations: posArgs("user_id", "USER", "permission", "PERMISSION", "resource_type", "TYPE", "resource_id", "RESOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := a.openChecker(cmd.Context())
			if err != nil {
				return err
			}
			ok, err := c.Check(args[0], args[1], rbac.ResourceType(args[2]), args[3])
			if err != nil {
				return err
			}
			if a.json() {
				err = writeJSON(a.stdout, struct {
					Allowed bool `json:"allowed"`
				}{ok})
			} else {
				_, err = fmt.Fprintln(a.stdout, verdict(ok))
			}
			if err == nil && !ok {
				err = errDenied
			}
			return err
		},
	}
}

func verdict(ok bool) string {
	if ok {
		return "allowed"
	}
	return "denied"
}

func newExplainCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "explain USER PERMISSION TYPE RESOURCE",
		Short: "Check, and say which binding decided",
		Long: `explain answers as check does, and says why: the binding and role that
granted the permission, or what stood in the way. Exit status 0 when
allowed, 1 when denied.` + checkCost,
		Args:        cobra.ExactArgs(4),
		Annotations: posArgs("user_id", "USER", "permission", "PERMISSION", "resource_type", "TYPE", "resource_id", "RESOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := a.openChecker(cmd.Context())
			if err != nil {
				return err
			}
			d, err := c.Explain(args[0], args[1], rbac.ResourceType(args[2]), args[3])
			if err != nil {
				return err
			}
			if a.json() {
				err = writeJSON(a.stdout, d)
			} else {
				_, err = fmt.Fprintln(a.stdout, d.String())
			}
			if err == nil && !d.Allowed {
				err = errDenied
			}
			return err
		},
	}
}

// grantsBody is the JSON of a reverse question: its grants and the
// pagination object of the REST API's lists.
type grantsBody struct {
	Grants     []check.Grant `json:"grants"`
	Revision   uint64        `json:"revision"`
	Pagination pagination    `json:"pagination"`
}

// writeGrants pages through a reverse question and writes what it found.
func (a *app) writeGrants(p paging, userColumn bool, page func(cursor string, limit int) (check.GrantPage, error)) error {
	body := grantsBody{Grants: []check.Grant{}}
	cursor := p.cursor
	for {
		gp, err := page(cursor, p.limit)
		if err != nil {
			return err
		}
		body.Grants = append(body.Grants, gp.Grants...)
		body.Revision = gp.Revision
		body.Pagination = pagination{gp.HasMore, gp.NextCursor}
		if !p.all || !gp.HasMore {
			break
		}
		cursor = gp.NextCursor
	}
	if a.json() {
		return writeJSON(a.stdout, body)
	}
	first := "RESOURCE-TYPE\tRESOURCE-ID"
	if userColumn {
		first = "USER-ID"
	}
	t := newTable(a.stdout, first, "ROLE-ID", "BINDING-ID", "INHERITED")
	for _, g := range body.Grants {
		lead := string(g.ResourceType) + "\t" + g.ResourceID
		if userColumn {
			lead = g.UserID
		}
		t.row(lead, g.RoleID, g.BindingID, strconv.FormatBool(g.Inherited))
	}
	if err := t.flush(); err != nil {
		return err
	}
	a.more(body.Pagination)
	return nil
}

func newWhoCanCmd(a *app) *cobra.Command {
	var p paging
	cmd := &cobra.Command{
		Use:   "who-can PERMISSION TYPE RESOURCE",
		Short: "List the users who may do something on a resource",
		Long: `who-can lists the users for whom check says yes, in the byte order of
their IDs, with the binding that lets each of them.` + checkCost,
		Args:        cobra.ExactArgs(3),
		Annotations: posArgs("permission", "PERMISSION", "resource_type", "TYPE", "resource_id", "RESOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := a.openChecker(cmd.Context())
			if err != nil {
				return err
			}
			return a.writeGrants(p, true, func(cursor string, limit int) (check.GrantPage, error) {
				return c.WhoCan(args[0], rbac.ResourceType(args[1]), args[2], cursor, limit)
			})
		},
	}
	p.flags(cmd)
	return cmd
}

func newResourcesForCmd(a *app) *cobra.Command {
	var p paging
	cmd := &cobra.Command{
		Use:   "resources-for USER PERMISSION TYPE",
		Short: "List the resources of a type a user may do something on",
		Long: `resources-for lists the resources of TYPE (SPACE or PROJECT) on which
check says yes for USER and PERMISSION, with the binding that lets the
user.` + checkCost,
		Args:        cobra.ExactArgs(3),
		Annotations: posArgs("user_id", "USER", "permission", "PERMISSION", "resource_type", "TYPE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := a.openChecker(cmd.Context())
			if err != nil {
				return err
			}
			return a.writeGrants(p, false, func(cursor string, limit int) (check.GrantPage, error) {
				return c.ResourcesFor(args[0], args[1], rbac.ResourceType(args[2]), cursor, limit)
			})
		},
	}
	p.flags(cmd)
	return cmd
}
