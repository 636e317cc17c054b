package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac/store"
)

func newChangesCmd(a *app) *cobra.Command {
	var after uint64
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "changes [--after REV] [--follow]",
		Short: "Print the change feed, one JSON line per change",
		Long: `changes prints every change after revision REV (default 0: from the oldest
kept), one JSON object a line, in revision order, whatever --output says:
{"revision","kind","at", and the binding, role or project it changed}.

With --follow it keeps polling every --interval for new changes until it is
interrupted (SIGINT or SIGTERM), and then exits 0. A reader that falls
behind the feed's retention gets an error naming the oldest revision kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			for {
				chs, err := s.Changes(ctx, after, store.MaxChanges)
				if err != nil {
					if follow && errors.Is(err, context.Canceled) {
						return nil
					}
					return err
				}
				for _, ch := range chs {
					if err := writeJSON(a.stdout, ch); err != nil {
						return err
					}
					after = ch.Revision
				}
				if len(chs) == store.MaxChanges {
					continue
				}
				if !follow {
					return nil
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&after, "after", 0, "print changes after this revision")
	f.BoolVar(&follow, "follow", false, "keep printing new changes until interrupted")
	f.DurationVar(&interval, "interval", time.Second, "how often --follow polls")
	return cmd
}
