package rawsock

import (
	"time"

	"github.com/rawcraft/rawcraft/craft"
)

// MaxFloodCount bounds FloodConfig.Count: every flood stops by itself.
const MaxFloodCount = 10_000_000

// FloodConfig is many copies of one packet sent in batches: packet k (from
// 0) carries IP ID BaseID+k in each of its frames (IPv4; IPv6 has none),
// when VaryFragID Fragment identification BaseFragID+k in each of its IPv6
// fragments (so that a receiver never joins two packets' fragments, RFC
// 8200 §4.5), and, when VaryICMPSeq, echo sequence number BaseICMPSeq+k in
// the frame that holds the ICMP or ICMPv6 header, each patched in place
// with its checksums (craft.Template, RFC 1624).
type FloodConfig struct {
	// Packet is the frames of one packet, Ethernet headers included: the
	// datagram, or its fragments in sending order.
	Packet      []craft.Template
	Count       uint64        // packets, 1 to MaxFloodCount
	Interval    time.Duration // between packets; 0: as fast as the sockets take them
	Workers     int           // unpaced floods: senders in parallel, one per core (default every core)
	BaseID      uint16
	VaryICMPSeq bool
	BaseICMPSeq uint16
	VaryFragID  bool
	BaseFragID  uint32
	// Ring sends through a PACKET_TX_RING instead of sendmmsg batches.
	Ring bool
	// QdiscBypass: see SenderConfig.
	QdiscBypass bool
	// OnProgress, when set, is told after every batch how many frames it
	// sent; workers call it concurrently. For a running count.
	OnProgress func(frames int)
}
