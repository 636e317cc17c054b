package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac/perm"
)

func newPermissionsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "permissions",
		Short: "List the permission vocabulary",
		Long: `permissions lists every permission a role may hold, one a line, or as a
JSON array with --output json. It needs no database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := perm.DefaultVocabulary().Names()
			if a.json() {
				return writeJSON(a.stdout, names)
			}
			for _, n := range names {
				fmt.Fprintln(a.stdout, n)
			}
			return nil
		},
	}
}
