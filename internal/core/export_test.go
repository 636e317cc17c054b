package core

// CancelWaiting reports whether a cancel is waiting for the
// notifications under way, which it does only after it marked its
// subscriber cancelled: a test can then go on knowing that it did.
func CancelWaiting(s *Subscribers) bool {
	if s.calling.TryRLock() {
		s.calling.RUnlock()
		return false
	}
	return true
}
