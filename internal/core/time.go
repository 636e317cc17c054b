package core

import (
	"time"

	"github.com/rolebind/rbac"
)

// NextUpdate returns the UpdatedAt of a write that changes a binding or a
// role last updated at prev: the store's clock now, in [rbac.StoreTime]
// form, but always at least a microsecond after prev, even when the clock
// stepped back, so that an IfUpdatedAt precondition never sees an old
// value again.
func NextUpdate(now, prev time.Time) time.Time {
	return time.UnixMicro(NextUpdateMicros(rbac.StoreTime(now).UnixMicro(), prev.UnixMicro())).UTC()
}

// NextUpdateMicros is [NextUpdate] in microseconds since the Unix epoch,
// the form a store that keeps numbers works in.
func NextUpdateMicros(now, prev int64) int64 { return max(now, prev+1) }
