package craft

// Auto holds a derived header field: a length, a header length or a checksum
// that rawcraft computes from the rest of the packet unless the caller forced
// a value with [Set]. Its zero value means "compute". A forced value is
// written exactly as given, even when it makes the packet wrong, and the
// encoder never writes its computed value back into the caller's struct.
type Auto[T any] struct {
	v      T
	forced bool
}

// Set forces a derived field to v.
func Set[T any](v T) Auto[T] { return Auto[T]{v: v, forced: true} }

// Get returns the forced value and true, or the zero value and false when the
// field is left to be computed.
func (a Auto[T]) Get() (T, bool) { return a.v, a.forced }

// IsSet reports whether a value was forced.
func (a Auto[T]) IsSet() bool { return a.forced }

// Or returns the forced value, or computed when none was forced.
func (a Auto[T]) Or(computed T) T {
	if a.forced {
		return a.v
	}
	return computed
}
