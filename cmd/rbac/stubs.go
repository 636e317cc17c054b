package main

import "github.com/spf13/cobra"

// Commands still to come; each moves to a file of its own.

func newRoleBindingsCmd(*app) *cobra.Command {
	return newGroup("role-bindings", "Manage role bindings")
}
func newRolesCmd(*app) *cobra.Command    { return newGroup("roles", "Manage roles") }
func newProjectsCmd(*app) *cobra.Command { return newGroup("projects", "Manage projects") }
func newRestrictionsCmd(*app) *cobra.Command {
	return newGroup("resource-restrictions", "Restrict projects")
}
func newBootstrapCmd(*app) *cobra.Command { return newGroup("bootstrap", "Bootstrap a space") }
func newChangesCmd(*app) *cobra.Command   { return newGroup("changes", "Changes") }
