package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/rawcraft/rawcraft/pcap"
	"github.com/spf13/cobra"
)

func newBuildCmd() *cobra.Command {
	var asHex, asJSON bool
	var pcapFile string
	cmd := &cobra.Command{
		Use:   "build PROTO [packet flags]",
		Short: "build a packet (tcp, udp, icmp or arp) and show it field by field; no privileges needed",
		Long: `build makes the packet the flags describe, byte for byte, and shows every field
with its meaning. Fields you do not set are computed (lengths, checksums) or
take the article's defaults: Hc 198.18.1.3 talking to Hs 198.18.1.1 on port
9999. A value you set is written exactly as given, even a wrong one.`,
		Example: `  # the SYN that opens a connection to the article's server
  rawcraft build tcp --dst 198.18.1.1 --dport 9999 --flags S --tcp-opt mss=1460,sackok,ts=1:0,nop,wscale=7
  # the server's answers: SYN-ACK, or RST|ACK when nothing listens
  rawcraft build tcp --src 198.18.1.1 --dst 198.18.1.3 --sport 9999 --dport 40000 --flags SA --ack 1
  rawcraft build tcp --src 198.18.1.1 --dst 198.18.1.3 --sport 9999 --dport 40000 --flags RA --ack 1
  # closing: FIN|ACK
  rawcraft build tcp --flags FA --seq 1 --ack 1
  # the article's 50-byte message of A's, over UDP
  rawcraft build udp --size 50 --fill A
  # Exercise 3: three messages, one checksum
  rawcraft build udp --dport 8192 --data Hello --hex
  rawcraft build udp --dport 8192 --data UQUQUQHello --hex
  rawcraft build udp --dport 8192 --data llHeo --hex
  # a 4000-byte UDP datagram in three fragments, for Wireshark
  rawcraft build udp --size 4000 --mtu 1500 --pcap frags.pcap
  # Hs's ICMP port unreachable, quoting the datagram that caused it
  rawcraft build icmp --src 198.18.1.1 --dst 198.18.1.3 --type 3 --code 3 --quote "udp --dport 9999 --data Hello"
  # a bad IPv4 checksum and the evil bit
  rawcraft build udp --ip-csum 0xdead --evil
  # IPv6: an echo request (icmp means ICMPv6 with an IPv6 address), through extension headers
  rawcraft build icmp --dst 2001:2:0:1::1 --ext hop-by-hop,dest,frag --flow-label 0x12345
  # Hs's ICMPv6 port unreachable (type 1 code 4), quoting the probe
  rawcraft build icmp --src 2001:2:0:1::1 --dst 2001:2:0:1::3 --type 1 --code 4 --quote "udp --dst 2001:2:0:1::1 --dport 9999"
  # who has 198.18.1.1?
  rawcraft build arp --src 198.18.1.3 --dst 198.18.1.1 --src-mac 02:00:00:00:01:03`,
		Args: argsRule(1, -1, "PROTO: tcp, udp, icmp or arp"),
	}
	pf := newPacketFlags(cmd.Flags())
	pf.allowIPv6()
	cmd.Flags().BoolVar(&asHex, "hex", false, "print each packet as hex, one per line")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each packet as a JSON object, one per line")
	cmd.Flags().StringVar(&pcapFile, "pcap", "", "also write the packets to a pcap file (link type RAW, or ETHERNET with --ether)")
	cmd.MarkFlagsMutuallyExclusive("hex", "json")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usagef("unexpected argument %q: packet flags start with --", args[1])
		}
		b, err := pf.build(args[0])
		if err != nil {
			return err
		}
		if pcapFile != "" {
			if err := writePcap(pcapFile, b); err != nil {
				return err
			}
		}
		return showBuilt(cmd.OutOrStdout(), b, asHex, asJSON)
	}
	return cmd
}

func showBuilt(w io.Writer, b *built, asHex, asJSON bool) error {
	n := len(b.frames)
	for i, f := range b.frames {
		if asHex {
			fmt.Fprintln(w, hex.EncodeToString(f.bytes))
			continue
		}
		d, derr := decode(f.bytes, b.linkEth)
		var sums [8]craft.ChecksumResult
		cs := d.Checksums(sums[:0])
		fields := craft.Explain(d)
		if asJSON {
			if err := writeJSON(w, toJSON(i, f, d, derr, fields, cs)); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, title(i, n, f, d, b.nfrags))
		if derr != nil {
			fmt.Fprintf(w, "  (as built on purpose, a receiver reads it as: %v)\n", derr)
		}
		dissect(w, fields, cs)
	}
	if !asHex && !asJSON && b.nfrags > 1 && n != b.nfrags {
		fmt.Fprintf(w, "\n%d fragments made, %d sent in this order: %s\n", b.nfrags, n, order(b.frames))
	}
	return nil
}

func order(fs []frame) string {
	s := ""
	for i, f := range fs {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprint(f.frag)
	}
	return s
}

func writePcap(name string, b *built) error {
	link := pcap.LinkRaw
	if b.linkEth {
		link = pcap.LinkEthernet
	}
	w, closeFile, err := createPcap(name, link)
	if err != nil {
		return err
	}
	t := time.Now()
	for i, fr := range b.frames {
		if err := w.Write(t.Add(time.Duration(i)*time.Microsecond), fr.bytes); err != nil {
			closeFile()
			return err
		}
	}
	return closeFile()
}
