package craft_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/rawcraft/rawcraft/listen"
	"github.com/rawcraft/rawcraft/rawsock"
	"github.com/vishvananda/netlink"
)

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }

// claimObs is what the lab saw after one claim packet: the answers that
// came back to Hc from the host or router, the change of that node's SNMP
// counters, what the UDP sockets on Hs read, and the errors they got.
type claimObs struct {
	answers   []craft.Decoded
	delta     map[string]int64
	delivered [][]byte // read by the unconnected UDP sockets on OpenPort (both families)
	openErr   []error  // errors those sockets read
	connErr   []error  // errors the connected socket read
	l         *lab.Lab // for proofs that look further (a socket's connect)
	h         craft.ClaimHosts
}

func (o *claimObs) String() string {
	var a []string
	for i := range o.answers {
		a = append(a, o.answers[i].Summary())
	}
	var moved []string
	for k, v := range o.delta {
		moved = append(moved, fmt.Sprintf("%s+%d", k, v))
	}
	return fmt.Sprintf("answers %q; counters %v; delivered %q; socket errors %v, connected %v", a, moved, o.delivered, o.openErr, o.connErr)
}

// silent fails unless nothing answered and every counter moved.
func (o *claimObs) silent(t *testing.T, counters ...string) {
	t.Helper()
	if len(o.answers) > 0 {
		t.Errorf("answered: %v", o)
	}
	o.moved(t, counters...)
}

func (o *claimObs) moved(t *testing.T, counters ...string) {
	t.Helper()
	for _, c := range counters {
		if o.delta[c] < 1 {
			t.Errorf("counter %s did not move: %v", c, o)
		}
	}
}

// answer fails unless exactly one answer came, and want accepts it.
func (o *claimObs) answer(t *testing.T, from netip.Addr, want func(d *craft.Decoded) bool) {
	t.Helper()
	if len(o.answers) != 1 || o.answers[0].Datagram.IPv4.Src != from && o.answers[0].Datagram.IPv6.Src != from || !want(&o.answers[0]) {
		t.Errorf("want one answer from %v: %v", from, o)
	}
}

func icmpIs(typ, code uint8, rest uint32) func(d *craft.Decoded) bool {
	return func(d *craft.Decoded) bool {
		return d.Has(craft.LayerICMP) && d.ICMP.Type == typ && d.ICMP.Code == code && d.ICMP.Rest == rest
	}
}

func icmp6Is(typ, code uint8, rest uint32) func(d *craft.Decoded) bool {
	return func(d *craft.Decoded) bool {
		return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == typ && d.ICMPv6.Code == code && d.ICMPv6.Rest == rest
	}
}

func rstWindow(win int) func(d *craft.Decoded) bool {
	return func(d *craft.Decoded) bool {
		return d.Has(craft.LayerTCP) && d.TCP.Flags&craft.TCPRst != 0 && (win < 0 || int(d.TCP.Window) == win)
	}
}

func (o *claimObs) delivers(t *testing.T, want string) {
	t.Helper()
	if len(o.delivered) != 1 || string(o.delivered[0]) != want {
		t.Errorf("want %q delivered: %v", want, o)
	}
}

func (o *claimObs) deliversNothing(t *testing.T) {
	t.Helper()
	if len(o.delivered) != 0 {
		t.Errorf("delivered: %v", o)
	}
}

// claimProofs say, for each claim, what Linux must be seen doing with each
// of its packets (c.Note tells them apart).
var claimProofs = map[craft.ClaimID]func(t *testing.T, c craft.ClaimPacket, o *claimObs){
	craft.ClaimIPv4ChecksumBad: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "IpExt:InCsumErrors", "Ip:InHdrErrors") // at Hs, or at R for the far one
	},
	craft.ClaimTCPChecksumBad:    func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Tcp:InCsumErrors") },
	craft.ClaimUDPChecksumBad:    func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Udp:InCsumErrors") },
	craft.ClaimICMPChecksumBad:   func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Icmp:InCsumErrors") },
	craft.ClaimICMPv6ChecksumBad: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Icmp6InCsumErrors") },
	craft.ClaimQuotedChecksumsUnchecked: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if len(o.connErr) != 1 || !errors.Is(o.connErr[0], syscall.ECONNREFUSED) {
			t.Errorf("the connected socket was not told: %v", o)
		}
		o.moved(t, "Icmp:InDestUnreachs")
	},
	craft.ClaimNegativeZeroAccepted: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrHs, func(d *craft.Decoded) bool { return d.Has(craft.LayerICMP) && d.ICMP.Type == craft.ICMPEchoReply })
	},
	craft.ClaimUDP6ZeroChecksum: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Udp6InCsumErrors")
		o.deliversNothing(t)
	},
	craft.ClaimIPv4VersionDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Ip:InHdrErrors") },
	craft.ClaimIPv6VersionDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Ip6InHdrErrors") },
	craft.ClaimTTLExpires: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrR1, icmpIs(craft.ICMPTimeExceeded, 0, 0))
	},
	craft.ClaimHopLimitExpires: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6R1, icmp6Is(craft.ICMPv6TimeExceeded, 0, 0))
	},
	craft.ClaimDFTooBig: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrR1, icmpIs(craft.ICMPUnreachable, craft.CodeFragNeeded, 1280))
	},
	craft.ClaimIPv6RoutersNeverFragment: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6R1, icmp6Is(craft.ICMPv6PacketTooBig, 0, 1280))
		o.moved(t, "Icmp6OutPktTooBigs")
	},
	craft.ClaimIPv4TrailerTrimmed: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.delivers(t, "claim") },
	craft.ClaimIPv6TrailerTrimmed: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.delivers(t, "claim") },
	craft.ClaimIPv4HeaderLengthError: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Ip:InHdrErrors")
	},
	craft.ClaimIPv4OptionPastHeader: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrHs, icmpIs(craft.ICMPParamProblem, 0, 20<<24))
		o.moved(t, "Ip:InHdrErrors")
		o.deliversNothing(t)
	},
	craft.ClaimUDPLengthBad: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if c.Note == "IPv6" {
			o.silent(t, "Udp6InErrors")
		} else {
			o.silent(t, "Udp:InErrors")
		}
		o.deliversNothing(t)
	},
	craft.ClaimUDPLengthShort: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.delivers(t, "cl") },
	craft.ClaimTCPDataOffsetBad: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if c.Note != "data offset 15 past the segment" {
			o.silent(t, "Tcp:InErrs")
			return
		}
		o.silent(t, "Tcp:InSegs") // dropped before any error counter (tcp_v4_rcv: pskb_may_pull)
	},
	craft.ClaimJumboBad: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		pointer := uint32(44) // the Jumbo Payload Length
		if c.Note == "payload length not 0" {
			pointer = 42 // the option
		}
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 0, pointer))
		o.moved(t, "Ip6InHdrErrors")
		o.deliversNothing(t)
	},
	craft.ClaimIPv6OptSkip: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6EchoReply, 0, uint32(0x2420+0x1e)<<16|1))
	},
	craft.ClaimIPv6OptDiscard: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Ip6InHdrErrors") },
	craft.ClaimIPv6OptParamProblem: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 2, 42))
	},
	craft.ClaimIPv6OptParamProblemUnicast: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if c.Multicast {
			o.silent(t, "Ip6InMcastPkts", "Ip6InHdrErrors")
			return
		}
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 2, 42))
	},
	craft.ClaimReservedIgnored: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if c.Note == "neighbor solicitation" {
			o.answer(t, lab.Addr6Hs, func(d *craft.Decoded) bool {
				return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6NeighborAdvert
			})
			return
		}
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6EchoReply, 0, 0x2411<<16|1))
	},
	craft.ClaimNDPOptionMalformed: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Icmp6InNeighborSolicits")
	},
	craft.ClaimAtomicFragment: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6EchoReply, 0, 0x2412<<16|1))
	},
	craft.ClaimRoutingSegmentsLeftZero: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, func(d *craft.Decoded) bool { return d.Has(craft.LayerICMPv6) && d.ICMPv6.Type == craft.ICMPv6EchoReply })
	},
	craft.ClaimRoutingSegmentsLeftZeroDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Ip6InReceives")
		if o.delta["Icmp6InEchos"] != 0 {
			t.Errorf("the echo request reached ICMPv6: %v", o)
		}
	},
	craft.ClaimParamProblemDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrHs, icmpIs(craft.ICMPParamProblem, 0, 21<<24))
		o.deliversNothing(t)
	},
	craft.ClaimClosedPortAnswersRST: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.answer(t, lab.AddrHs, rstWindow(-1)) },
	craft.ClaimOpenPortDropsNoSYN:   func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Tcp:InSegs") },
	craft.ClaimACKAnsweredRST:       func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.answer(t, lab.AddrHs, rstWindow(-1)) },
	craft.ClaimSYNFINDropped:        func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Tcp:InSegs") },
	craft.ClaimRSTWindowZero:        func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.answer(t, lab.AddrHs, rstWindow(0)) },
	craft.ClaimUnconnectedUDPNeverTold: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if len(o.openErr) != 0 {
			t.Errorf("the unconnected socket was told: %v", o)
		}
		o.moved(t, "Icmp:InDestUnreachs")
	},
	craft.ClaimSYNACKAnsweredRST: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.answer(t, lab.AddrHs, rstWindow(-1)) },
	craft.ClaimClosedUDPPortUnreachable: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if c.Note == "IPv6" {
			o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6Unreachable, 4, 0))
			return
		}
		o.answer(t, lab.AddrHs, icmpIs(craft.ICMPUnreachable, craft.CodePortUnreachable, 0))
	},
	craft.ClaimReassemblyTimeExceeded: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrHs, icmpIs(craft.ICMPTimeExceeded, craft.CodeReassemblyExceeded, 0))
	},
	craft.ClaimReassemblyTimeoutNeedsFirst: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		// Gave up without a word: it never had the first fragment.
		if c.Note == "IPv6" {
			o.silent(t, "Ip6ReasmTimeout")
			return
		}
		o.silent(t, "Ip:ReasmTimeout")
	},
	craft.ClaimFragTrimmed: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.delivers(t, "claim, fragmented")
		o.moved(t, "Ip:ReasmOKs")
	},
	craft.ClaimRoutingType0Refused: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 0, 42)) // the Routing header at 40: its type at 42
	},
	craft.ClaimSYNRefused: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.AddrHs, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerTCP) && d.TCP.Flags == craft.TCPRst|craft.TCPAck && d.TCP.Ack == 1001
		})
		// And a socket's connect() to the same port.
		var err error
		if lerr := o.l.Do(lab.Hc, func() error {
			var c net.Conn
			if c, err = net.DialTimeout("tcp", netip.AddrPortFrom(lab.AddrHs, 7003).String(), 2*time.Second); err == nil {
				c.Close()
			}
			return nil
		}); lerr != nil {
			t.Fatal(lerr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("connect() to the closed port: %v, want ECONNREFUSED", err)
		}
	},
	craft.ClaimHalfOpenDroppedOnRST: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		// Hs answers SYN-ACK; Hc's kernel, which opened nothing, resets
		// it; Hs drops the request (tcp_check_req: embryonic_reset).
		o.answer(t, lab.AddrHs, func(d *craft.Decoded) bool {
			return d.Has(craft.LayerTCP) && d.TCP.Flags == craft.TCPSyn|craft.TCPAck && d.TCP.Ack == 1001
		})
		o.moved(t, "TcpExt:EmbryonicRsts", "Tcp:AttemptFails")
	},
	craft.ClaimTCPOptionsStop:         synAckWithoutOptions,
	craft.ClaimTCPOptionLengthIgnored: synAckWithoutOptions,
	craft.ClaimMD5Unexpected: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if c.Note == "closed port" {
			o.silent(t, "Tcp:InSegs")
			return
		}
		o.silent(t, "TcpExt:TCPMD5Unexpected")
	},
	craft.ClaimPadNNonzeroDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) { o.silent(t, "Ip6InHdrErrors") },
	craft.ClaimNDPShortDiscarded: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		switch c.Note {
		case "neighbor advertisement":
			// Hs's entry for the target keeps its link address; the
			// whole advertisement overrides it.
			o.silent(t, "Icmp6InNeighborAdvertisements")
			if mac := hsNeighbor(t, o.l, craft.ShortNATarget); mac != shortNAOldMAC {
				t.Errorf("after the short advertisement, Hs has %v for %v; want %v still", mac, craft.ShortNATarget, shortNAOldMAC)
			}
			na := craft.NeighborAdvertFor(o.h, craft.ShortNATarget, craft.ShortNALinkAddr, 0)
			whole, err := na.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			sendFromHc(t, o.l, whole)
			if mac := hsNeighbor(t, o.l, craft.ShortNATarget); mac != craft.ShortNALinkAddr {
				t.Errorf("after the whole advertisement, Hs has %v for %v; want %v: the control failed", mac, craft.ShortNATarget, craft.ShortNALinkAddr)
			}
		case "router advertisement":
			// Hs's hop limit stays; the whole advertisement sets it.
			o.silent(t, "Icmp6InRouterAdvertisements")
			if hl := hsHopLimit(t, o.l); hl != "64" {
				t.Errorf("after the short advertisement, Hs's hop limit is %s; want 64 still", hl)
			}
			ra := craft.RouterAdvertFor(o.h, craft.ShortRAHopLimit, 0)
			whole, err := ra.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			sendFromHc(t, o.l, whole)
			if hl := hsHopLimit(t, o.l); hl != fmt.Sprint(craft.ShortRAHopLimit) {
				t.Errorf("after the whole advertisement, Hs's hop limit is %s; want %d: the control failed", hl, craft.ShortRAHopLimit)
			}
		default:
			o.silent(t, "Icmp6InNeighborSolicits")
		}
	},
	craft.ClaimFragChecksumDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "IpExt:InCsumErrors")
		if o.delta["Ip:ReasmReqds"] != 0 {
			t.Errorf("reached reassembly: %v", o)
		}
	},
	craft.ClaimFragInconsistentDiscarded: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		// Discarded: no reassembly timeout follows, though the first
		// fragment had come (the wait outlasts ipfrag_time).
		if strings.HasPrefix(c.Note, "IPv6") {
			o.silent(t, "Ip6ReasmFails")
		} else {
			o.silent(t, "Ip:ReasmFails")
		}
		o.deliversNothing(t)
	},
	craft.ClaimFragDuplicateDropped: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.delivers(t, "claim, fragmented") // the first copy of bytes 8 to 16, its checksum right
		if c.Note == "IPv6" {
			o.moved(t, "Ip6ReasmOKs")
			return
		}
		o.moved(t, "Ip:ReasmOKs")
	},
	craft.ClaimFragOverlapDiscarded: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Ip:ReasmFails", "IpExt:ReasmOverlaps")
		o.deliversNothing(t)
	},
	craft.ClaimFrag6OverlapDiscarded: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Ip6ReasmFails")
		o.deliversNothing(t)
	},
	craft.ClaimFrag6NotMultipleOf8: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 0, 4))
	},
	craft.ClaimFrag6PastMax: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 0, 42)) // the Fragment header at 40: its offset at 42
	},
	craft.ClaimFrag6ChainSplit: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.answer(t, lab.Addr6Hs, icmp6Is(craft.ICMPv6ParamProblem, 3, 0))
		o.moved(t, "Ip6InHdrErrors")
	},
	craft.ClaimFragOversized: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Ip:ReasmFails")
		if o.delta["Ip:ReasmReqds"] != int64(len(c.Prior)+1) || o.delta["Ip:ReasmOKs"] != 0 {
			t.Errorf("want all %d fragments queued and none reassembled: %v", len(c.Prior)+1, o)
		}
		o.deliversNothing(t)
	},
	craft.ClaimFrag6Oversized: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		o.silent(t, "Ip6ReasmFails")
		if o.delta["Ip6ReasmReqds"] != int64(len(c.Prior)+1) || o.delta["Ip6ReasmOKs"] != 0 {
			t.Errorf("want all %d fragments queued and none reassembled: %v", len(c.Prior)+1, o)
		}
		o.deliversNothing(t)
	},
	craft.ClaimJumboMissing: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		if len(o.answers) != 0 {
			t.Errorf("answered: %v", o)
		}
		o.delivers(t, "claim")
	},
	craft.ClaimLinkLocalNotForwarded: func(t *testing.T, c craft.ClaimPacket, o *claimObs) {
		// R refuses it: destination unreachable, beyond scope of source
		// address (RFC 4443 §3.1 code 2), and forwards nothing.
		o.answer(t, r1LinkLocal, icmp6Is(craft.ICMPv6Unreachable, 2, 0))
		o.moved(t, "Ip6InAddrErrors")
		if o.delta["Ip6OutForwDatagrams"] != 0 {
			t.Errorf("forwarded: %v", o)
		}
	},
}

// claimSetup prepares the node before a claim packet is sent, for the
// proofs that look at what the packet would have changed.
var claimSetup = map[craft.ClaimID]func(t *testing.T, l *lab.Lab, c craft.ClaimPacket){
	craft.ClaimNDPShortDiscarded: func(t *testing.T, l *lab.Lab, c craft.ClaimPacket) {
		if c.Note == "router advertisement" {
			// The lab's hosts ignore router advertisements
			// (accept_ra 0): for this one, Hs reads them, so that
			// only the length can make it ignore this one.
			key := "net.ipv6.conf." + lab.HostIfc + ".accept_ra"
			if err := l.Sysctl(lab.Hs, key, "1"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := l.Sysctl(lab.Hs, key, "0"); err != nil {
					t.Error(err)
				}
				if err := l.Sysctl(lab.Hs, "net.ipv6.conf."+lab.HostIfc+".hop_limit", "64"); err != nil {
					t.Error(err)
				}
			})
			return
		}
		if c.Note != "neighbor advertisement" {
			return
		}
		// An entry the advertisement's override flag would rewrite.
		if err := l.Do(lab.Hs, func() error {
			ifi, err := net.InterfaceByName(lab.HostIfc)
			if err != nil {
				return err
			}
			return netlink.NeighSet(&netlink.Neigh{LinkIndex: ifi.Index, Family: netlink.FAMILY_V6, State: netlink.NUD_STALE,
				IP: craft.ShortNATarget.AsSlice(), HardwareAddr: shortNAOldMAC[:]})
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = l.Do(lab.Hs, func() error {
				ifi, err := net.InterfaceByName(lab.HostIfc)
				if err != nil {
					return err
				}
				return netlink.NeighDel(&netlink.Neigh{LinkIndex: ifi.Index, Family: netlink.FAMILY_V6, IP: craft.ShortNATarget.AsSlice()})
			})
		})
	},
}

// shortNAOldMAC is the link address Hs has for craft.ShortNATarget before
// the advertisements.
var shortNAOldMAC = craft.MAC{2, 0, 0, 0, 0x77, 1}

// hsNeighbor returns Hs's link address for a, or the zero MAC.
func hsNeighbor(t *testing.T, l *lab.Lab, a netip.Addr) craft.MAC {
	t.Helper()
	var mac craft.MAC
	if err := l.Do(lab.Hs, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		ns, err := netlink.NeighList(ifi.Index, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip == a && len(n.HardwareAddr) == 6 {
				mac = craft.MAC(n.HardwareAddr)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return mac
}

// hsHopLimit returns Hs's hop limit on its interface
// (net.ipv6.conf.IFACE.hop_limit).
func hsHopLimit(t *testing.T, l *lab.Lab) string {
	t.Helper()
	var v []byte
	if err := l.Do(lab.Hs, func() (err error) {
		v, err = os.ReadFile("/proc/sys/net/ipv6/conf/" + lab.HostIfc + "/hop_limit")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// sendFromHc sends one IPv6 datagram from Hc to Hs's MAC address and
// gives Hs a moment to take it in.
func sendFromHc(t *testing.T, l *lab.Lab, dg []byte) {
	t.Helper()
	if err := l.Do(lab.Hc, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		tx, err := rawsock.Listen(ifi, &rawsock.Config{SendOnly: true})
		if err != nil {
			return err
		}
		defer tx.Close()
		frame := append(append(append([]byte(nil), lab.MACHs[:]...), lab.MACHc[:]...), 0x86, 0xdd)
		_, err = tx.Send(append(frame, dg...))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
}

// synAckWithoutOptions: the SYN was answered with a SYN-ACK that echoes
// neither window scale nor SACK permitted, which Linux echoes when it read
// them in the SYN (tcp_parse_options, tcp_synack_options); it carries its
// MSS, as always.
func synAckWithoutOptions(t *testing.T, c craft.ClaimPacket, o *claimObs) {
	t.Helper()
	o.answer(t, lab.AddrHs, func(d *craft.Decoded) bool {
		if !d.Has(craft.LayerTCP) || d.TCP.Flags != craft.TCPSyn|craft.TCPAck {
			return false
		}
		mss := false
		for off := 0; off < len(d.TCP.Options); {
			opt, next, err := craft.NextOption(d.TCP.Options, off)
			if err != nil {
				return false
			}
			switch opt.Kind {
			case craft.TCPOptEOL:
				return mss
			case craft.TCPOptWScale, craft.TCPOptSACKOK:
				return false
			case craft.TCPOptMSS:
				mss = true
			}
			off = next
		}
		return mss
	})
}

// hcLinkLocal is Hc's fe80:: address, from its MAC (RFC 4291 §2.5.1).
var (
	hcLinkLocal = netip.MustParseAddr("fe80::ff:fe00:103")
	r1LinkLocal = netip.MustParseAddr("fe80::ff:fe00:1fe") // R toward S1
)

// claimWait is how long to wait for an answer, or to be sure of silence,
// where 1.5 s is not enough: the lab's ipfrag_time is 1 s here, and
// Linux's reassembly timer fires up to a second later.
var claimWait = map[craft.ClaimID]time.Duration{craft.ClaimReassemblyTimeExceeded: 3500 * time.Millisecond, craft.ClaimReassemblyTimeoutNeedsFirst: 3500 * time.Millisecond}

// Every claim in the table has a lab proof, and every proof a claim: here,
// or in the lab test it names (a claim about a live connection), which
// must exist and name the claim.
func TestEveryClaimHasALabProof(t *testing.T) {
	n := 0
	for _, c := range craft.Claims() {
		if c.ProvedIn != "" {
			file, test, _ := strings.Cut(c.ProvedIn, " ")
			b, err := os.ReadFile(filepath.Join("..", file))
			if err != nil || !bytes.Contains(b, []byte("func "+test+"(t *testing.T)")) || !bytes.Contains(b, []byte(c.Name)) || c.Demo != nil {
				t.Errorf("claim %s: proved in %q, which does not hold %s naming the claim (%v)", c.Name, c.ProvedIn, test, err)
			}
			continue
		}
		n++
		if claimProofs[c.ID] == nil {
			t.Errorf("claim %s (%q) has no lab proof", c.Name, c.Text)
		}
		if c.Demo == nil {
			t.Errorf("claim %s has no packet", c.Name)
		}
	}
	if len(claimProofs) != n {
		t.Errorf("%d proofs for %d claims", len(claimProofs), n)
	}
}

// TestClaimsOnLinux sends every claim's packets from Hc into a routed lab
// and checks that Hs (or R, for the claims about routers) does what the
// sentence says: the answer that comes back, or silence with the counter
// of the drop moved, and what Hs's sockets read.
func TestClaimsOnLinux(t *testing.T) {
	l := lab.ForTest(t, lab.Config{Routed: true, FragTime: 1})
	h := craft.ClaimHosts{Src: lab.AddrHc, Dst: lab.AddrHs, Far: lab.AddrHf, Src6: lab.Addr6Hc, Dst6: lab.Addr6Hs, Far6: lab.Addr6Hf,
		SrcLinkLocal: hcLinkLocal, OpenPort: 7001, ConnectedPort: 7002, ClosedPort: 7003}
	srv := startClaimServers(t, l, h)
	var tx *rawsock.Conn
	var rx *listen.Listener
	if err := l.Do(lab.Hc, func() error {
		ifi, err := net.InterfaceByName(lab.HostIfc)
		if err != nil {
			return err
		}
		if tx, err = rawsock.Listen(ifi, &rawsock.Config{SendOnly: true}); err != nil {
			return err
		}
		rx, err = listen.Listen(ifi, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	rec := listen.Record(rx, 0)
	defer func() { rec.Stop(); rx.Close() }()
	for _, cl := range craft.Claims() {
		if cl.Demo == nil {
			continue // proved in cl.ProvedIn
		}
		pkts, err := cl.Demo(h)
		if err != nil {
			t.Fatalf("%s: %v", cl.Name, err)
		}
		for i, c := range pkts {
			name := cl.Name
			if c.Note != "" {
				name += "/" + c.Note
			} else if len(pkts) > 1 {
				name += fmt.Sprint("/", i)
			}
			t.Run(name, func(t *testing.T) {
				wait := claimWait[cl.ID]
				if wait == 0 {
					wait = 1500 * time.Millisecond
				}
				if setup := claimSetup[cl.ID]; setup != nil {
					setup(t, l, c)
				}
				o := sendClaim(t, l, tx, rec, srv, c, wait)
				o.h = h
				t.Logf("%v", o)
				claimProofs[cl.ID](t, c, o)
			})
		}
	}
}

// claimServers are Hs's sockets: a TCP listener and an unconnected UDP
// socket on OpenPort in each family, and a UDP socket on ConnectedPort
// connected to Hc's ClosedPort. Their readers record what they read.
type claimServers struct {
	mu        sync.Mutex
	delivered [][]byte
	openErr   []error
	connErr   []error
}

func startClaimServers(t *testing.T, l *lab.Lab, h craft.ClaimHosts) *claimServers {
	s := &claimServers{}
	var closers []func() error
	err := l.Do(lab.Hs, func() error {
		for _, a := range []netip.Addr{h.Dst, h.Dst6} {
			tl, err := net.Listen("tcp", netip.AddrPortFrom(a, h.OpenPort).String())
			if err != nil {
				return err
			}
			closers = append(closers, tl.Close)
			u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, h.OpenPort)))
			if err != nil {
				return err
			}
			closers = append(closers, u.Close)
			go s.read(u, &s.openErr, true)
		}
		c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(h.Dst, h.ConnectedPort)), net.UDPAddrFromAddrPort(netip.AddrPortFrom(h.Src, h.ClosedPort)))
		if err != nil {
			return err
		}
		closers = append(closers, c.Close)
		go s.read(c, &s.connErr, false)
		return nil
	})
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *claimServers) read(u *net.UDPConn, errs *[]error, deliver bool) {
	buf := make([]byte, 2048)
	for {
		n, err := u.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		s.mu.Lock()
		if err != nil {
			*errs = append(*errs, err)
		} else if deliver {
			s.delivered = append(s.delivered, append([]byte(nil), buf[:n]...))
		}
		s.mu.Unlock()
	}
}

func (s *claimServers) take() (delivered [][]byte, openErr, connErr []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delivered, openErr, connErr = s.delivered, s.openErr, s.connErr
	s.delivered, s.openErr, s.connErr = nil, nil, nil
	return
}

// sendClaim sends one packet from Hc and observes: answers at Hc from the
// node the packet is about, within wait (silence is waited for as long;
// the proofs check that the node's counters show the packet arrived), and
// the counters' change.
func sendClaim(t *testing.T, l *lab.Lab, tx *rawsock.Conn, rec *listen.Recorder, srv *claimServers, c craft.ClaimPacket, wait time.Duration) *claimObs {
	t.Helper()
	node, dstMAC, from4, from6 := lab.Hs, lab.MACHs, lab.AddrHs, lab.Addr6Hs
	if c.Far {
		node, dstMAC, from4, from6 = lab.R, lab.MACR1, lab.AddrR1, lab.Addr6R1
	}
	if c.Multicast {
		dstMAC = craft.MAC{0x33, 0x33, 0, 0, 0, 1}
	}
	before := snmp(t, l, node)
	srv.take()
	seen := len(rec.Snapshot())
	for _, dg := range append(append([][]byte(nil), c.Prior...), c.Datagram) {
		frame := append([]byte(nil), dstMAC[:]...)
		frame = append(frame, lab.MACHc[:]...)
		frame = append(frame, byte(c.EtherType>>8), byte(c.EtherType))
		frame = append(frame, dg...)
		if _, err := tx.Send(frame); err != nil {
			t.Fatal(err)
		}
	}
	o := &claimObs{l: l}
	sport := claimSrcPort(c)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		o.answers = answersFrom(rec.Snapshot()[seen:], from4, from6, sport)
		if len(o.answers) > 0 {
			time.Sleep(100 * time.Millisecond) // a second answer would be wrong too
			o.answers = answersFrom(rec.Snapshot()[seen:], from4, from6, sport)
			break
		}
	}
	o.delivered, o.openErr, o.connErr = srv.take()
	after := snmp(t, l, node)
	o.delta = map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			o.delta[k] = d
		}
	}
	return o
}

// claimSrcPort is the claim packet's TCP or UDP source port; 0 if it has
// none.
func claimSrcPort(c craft.ClaimPacket) uint16 {
	var d craft.Decoded
	d.AcceptIPv6 = true
	d.DecodeIP(c.Datagram)
	switch {
	case d.Has(craft.LayerTCP):
		return d.TCP.SrcPort
	case d.Has(craft.LayerUDP):
		return d.UDP.SrcPort
	}
	return 0
}

// answersFrom are the IP packets the node sent to Hc: ARP and the
// neighbor solicitations the node sends to reach Hc at all left out, and,
// when sport is not 0, TCP and UDP segments to another port than sport (an
// answer goes back to the port it answers; a segment to another one
// belongs to a socket a proof opened, caught late).
func answersFrom(caps []listen.Captured, from4, from6 netip.Addr, sport uint16) []craft.Decoded {
	var out []craft.Decoded
	for _, s := range caps {
		var d craft.Decoded
		d.AcceptIPv6 = true
		if err := d.DecodeFrame(s.Frame); err != nil && d.Datagram.Layers == 0 {
			continue
		}
		switch {
		case d.Has(craft.LayerIPv4):
			if d.Datagram.IPv4.Src != from4 || d.Datagram.IPv4.Dst != lab.AddrHc {
				continue
			}
		case d.Has(craft.LayerIPv6):
			// Every answer goes to the claim packet's source, one of Hc's
			// addresses; the hosts' own neighbor discovery, which goes to
			// link-local and multicast addresses, is not an answer.
			switch {
			case d.Datagram.IPv6.Dst == lab.Addr6Hc && d.Datagram.IPv6.Src == from6:
			case d.Datagram.IPv6.Dst == hcLinkLocal && d.Datagram.IPv6.Src.IsLinkLocalUnicast():
				// an answer to a link-local source comes from a link-local one
			default:
				continue
			}
			if d.Has(craft.LayerICMPv6) && (d.ICMPv6.Type == craft.ICMPv6NeighborSolicit ||
				d.ICMPv6.Type == craft.ICMPv6NeighborAdvert && d.Datagram.IPv6.Dst == hcLinkLocal) {
				continue // Hs resolving Hc before it answers, or confirming itself to Hc's own solicitation
			}
		default:
			continue
		}
		icmp := d.Has(craft.LayerICMP) || d.Has(craft.LayerICMPv6) // its TCP or UDP header, if any, is the quote's
		if sport != 0 && !icmp && (d.Has(craft.LayerTCP) && d.TCP.DstPort != sport || d.Has(craft.LayerUDP) && d.UDP.DstPort != sport) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// snmp reads the node's counters from /proc/net/snmp, /proc/net/netstat
// ("Ip:InHdrErrors", "IpExt:InCsumErrors") and /proc/net/snmp6
// ("Ip6InHdrErrors"), in the node's namespace.
func snmp(t *testing.T, l *lab.Lab, node string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	err := l.Do(node, func() error {
		for _, f := range []string{"snmp", "netstat"} {
			b, err := os.ReadFile("/proc/thread-self/net/" + f)
			if err != nil {
				return err
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for i := 0; i+1 < len(lines); i += 2 {
				names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
				if len(names) != len(values) || len(names) == 0 || names[0] != values[0] {
					return fmt.Errorf("%s: unexpected lines %q %q", f, lines[i], lines[i+1])
				}
				prefix := names[0]
				for j := 1; j < len(names); j++ {
					v, _ := strconv.ParseInt(values[j], 10, 64)
					m[prefix+names[j]] = v
				}
			}
		}
		b, err := os.ReadFile("/proc/thread-self/net/snmp6")
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				m[f[0]] = v
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Claim lo-injected-dropped: a UDP datagram from this host's own address to
// a socket listening on it, injected on lo through a packet socket, passes
// the tap (Ip:InReceives counts it) and reaches no socket, for 127.0.0.1
// and for the host's address on its LAN alike; the same datagram sent
// through a UDP socket arrives, and so does the injected one when its
// source is another host's address: the local source is what is refused.
func TestLoopbackInjectionDropped(t *testing.T) {
	l := lab.ForTest(t, lab.Config{})
	for _, a := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), lab.AddrHs} {
		t.Run(a.String(), func(t *testing.T) {
			var u *net.UDPConn
			var tx *rawsock.Conn
			if err := l.Do(lab.Hs, func() (err error) {
				if u, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 7777))); err != nil {
					return err
				}
				lo, err := net.InterfaceByName("lo")
				if err != nil {
					return err
				}
				tx, err = rawsock.Listen(lo, &rawsock.Config{SendOnly: true})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			defer tx.Close()
			dg, err := (&craft.Packet{IPv4: &craft.IPv4{Src: a, Dst: a}, UDP: &craft.UDP{SrcPort: 40400, DstPort: 7777}, Payload: []byte("claim")}).Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			before := snmp(t, l, lab.Hs)
			if _, err := tx.Send(append(make([]byte, 12), append([]byte{0x08, 0x00}, dg...)...)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			_ = u.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := u.Read(buf); err == nil {
				t.Fatalf("the injected datagram was delivered: %q", buf[:n])
			}
			after := snmp(t, l, lab.Hs)
			if after["Ip:InReceives"]-before["Ip:InReceives"] < 1 || after["Udp:InDatagrams"] != before["Udp:InDatagrams"] {
				t.Errorf("Ip:InReceives %d → %d, Udp:InDatagrams %d → %d: want the frame received by IP and no datagram delivered",
					before["Ip:InReceives"], after["Ip:InReceives"], before["Udp:InDatagrams"], after["Udp:InDatagrams"])
			}
			// The control: through a socket, the datagram arrives.
			if err := l.Do(lab.Hs, func() error {
				c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 7777)))
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.Write([]byte("control"))
				return err
			}); err != nil {
				t.Fatal(err)
			}
			_ = u.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := u.Read(buf); err != nil || string(buf[:n]) != "control" {
				t.Errorf("the control datagram: %q, %v", buf[:n], err)
			}
			if a != lab.AddrHs {
				return
			}
			// The reason: the same frame from another host's address is
			// delivered.
			dg, _ = (&craft.Packet{IPv4: &craft.IPv4{Src: lab.AddrHc, Dst: a}, UDP: &craft.UDP{SrcPort: 40400, DstPort: 7777}, Payload: []byte("foreign")}).Append(nil)
			if _, err := tx.Send(append(make([]byte, 12), append([]byte{0x08, 0x00}, dg...)...)); err != nil {
				t.Fatal(err)
			}
			_ = u.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := u.Read(buf); err != nil || string(buf[:n]) != "foreign" {
				t.Errorf("from a foreign source, injected on lo: %q, %v; want it delivered", buf[:n], err)
			}
		})
	}
}
