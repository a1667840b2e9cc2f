package rawsock

import (
	"errors"
	"time"
)

// MaxBatch is the most frames one SendBatch hands the kernel at once.
const MaxBatch = 256

// SenderConfig configures NewSender. A nil *SenderConfig means the
// defaults.
type SenderConfig struct {
	// QdiscBypass sends frames straight to the driver, past the queueing
	// discipline (PACKET_QDISC_BYPASS, packet(7)): faster, but a full
	// driver queue drops frames instead of queueing them.
	QdiscBypass bool
	// Timeout bounds how long one send waits for room in the socket's
	// send buffer (SO_SNDTIMEO); zero means one second.
	Timeout time.Duration
}

// ErrSendTimeout is returned when the socket's send buffer stayed full for
// the whole SenderConfig.Timeout.
var ErrSendTimeout = errors.New("send buffer full for the whole timeout")

// ErrRingFull is returned by Put when every slot still waits for the kernel.
var ErrRingFull = errors.New("tx ring full")
