package rawsock

import (
	"errors"
	"syscall"
	"time"

	"golang.org/x/net/bpf"
)

// ErrNotLinux is what every socket operation returns off Linux, wrapped with
// the operation: rawcraft's raw sockets are the Linux kernel's AF_PACKET
// (packet(7)) and raw IPv4 and IPv6 (raw(7)) sockets. The types,
// configurations and pure functions (KernelRewrites, ParseVia,
// ARPReplyFilter, MulticastMAC…) work everywhere.
var ErrNotLinux = errors.New("needs Linux: raw sockets here are AF_PACKET and raw IP sockets of the Linux kernel")

// Config configures Listen. A nil *Config means: every EtherType, no filter.
type Config struct {
	// Filter runs in the kernel; it is attached before the socket is bound,
	// so that nothing slips through before it (mdlayher/packet's Config).
	Filter []bpf.RawInstruction
	// EtherType to receive (0x0800 IPv4, 0x0806 ARP); zero means all.
	EtherType uint16
	// SendOnly receives nothing: no frame is queued on the socket.
	SendOnly bool
	// Meta turns on kernel receive timestamps and PACKET_AUXDATA, for
	// RecvMeta.
	Meta bool
	// ReadBuffer sets the receive buffer, in bytes, so that a burst fits;
	// with Ring, the ring's size (default 4 MiB).
	ReadBuffer int
	// Ring receives through a PACKET_RX_RING (TPACKET_V3) instead of one
	// recvmsg(2) per frame: for captures that must keep up with a flood.
	// The price is latency: a block is handed over when full or after
	// RingBlockTimeout, so a lone frame may wait that long to be read
	// (its Meta.Time is still when it arrived). Implies Meta.
	Ring bool
	// RingTimeout is how long a partly filled ring block waits before the
	// kernel hands it over (tp_retire_blk_tov, whole milliseconds, at
	// least 1); zero means RingBlockTimeout. Shorter suits a conversation,
	// where each reply is waited for; longer, a flood.
	RingTimeout time.Duration
}

// RingBlockTimeout is how long a partly filled ring block waits before the
// kernel hands it over (tp_retire_blk_tov).
const RingBlockTimeout = 4 * time.Millisecond

// Meta is what the kernel says about a received frame, beside its bytes.
type Meta struct {
	// Time is the kernel's timestamp: when the frame reached the socket's
	// tap, not when rawcraft read it. A ring (Config.Ring) always has one:
	// tpacket_rcv takes it as the frame passes when the skb carries none.
	Time time.Time
	// Late: the kernel had taken no timestamp (software timestamps are
	// switched on system-wide a moment after the first socket asks, from a
	// workqueue, so the first frames after Listen may have none), and Time
	// is when rawcraft read the frame, which can be milliseconds after it
	// passed. Only the recvmsg(2) path (Meta without Ring) can be Late;
	// with SO_TIMESTAMPNS the kernel would fill in the read time silently
	// (__sock_recv_timestamp), so rawcraft asks with SO_TIMESTAMPING to
	// know.
	Late bool
	// Outgoing: the frame was sent by this host (sll_pkttype PACKET_OUTGOING);
	// an AF_PACKET tap sees both directions.
	Outgoing bool
	// ChecksumPartial: the sending kernel left the transport checksum for
	// the NIC to fill (checksum offload, TP_STATUS_CSUMNOTREADY), so the
	// bytes hold only the pseudo-header sum. Such a checksum is not bad.
	ChecksumPartial bool
	// ChecksumValid: the NIC or driver already verified it (TP_STATUS_CSUM_VALID).
	ChecksumValid bool
	// Len is the frame's length on the wire; more than the bytes read when
	// the buffer was too small.
	Len int
	// VLANRestored: the kernel had taken the frame's 802.1Q tag out (VLAN
	// acceleration) and it was put back from PACKET_AUXDATA, as on the wire.
	VLANRestored bool
}

// ErrWouldBlock is returned by RecvMetaNow when no frame is queued.
var ErrWouldBlock = syscall.EAGAIN
