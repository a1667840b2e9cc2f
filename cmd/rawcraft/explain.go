package main

import (
	"fmt"

	"github.com/rawcraft/rawcraft/craft"
	"github.com/spf13/cobra"
)

func newExplainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain PROTO [packet flags]",
		Short: "draw a packet as RFC bit diagrams and explain every field",
		Long: `explain builds the packet the flags describe (as build does) and draws each
header as the RFCs draw it, 32 bits to a row, filled with the values, followed
by a table of every field: its bit offset, width, value, meaning and the RFC
section that defines it.`,
		Example: `  rawcraft explain tcp --flags S --tcp-opt mss=1460,sackok,ts=1:0,nop,wscale=7
  rawcraft explain udp --dport 8192 --data Hello
  rawcraft explain icmp --src 198.18.1.1 --dst 198.18.1.3 --type 3 --code 4 --next-hop-mtu 1400 --quote "udp --df --size 1472"
  rawcraft explain arp --src-mac 02:00:00:00:01:03
  rawcraft explain icmp --src 2001:2:0:1::1 --dst 2001:2:0:1::3 --type 2 --next-hop-mtu 1280 --quote "udp --dst 2001:2:0:2::1 --size 1400"
  rawcraft explain udp --dst 2001:2:0:1::1 --ext routing=0:1:0000000020010002000000020000000000000001`,
		Args: argsRule(1, -1, "PROTO: tcp, udp, icmp or arp"),
	}
	pf := newPacketFlags(cmd.Flags())
	pf.allowIPv6()
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return usagef("unexpected argument %q: packet flags start with --", args[1])
		}
		b, err := pf.build(args[0])
		if err != nil {
			return err
		}
		w := cmd.OutOrStdout()
		for i, f := range b.frames {
			d, derr := decode(f.bytes, b.linkEth)
			var sums [8]craft.ChecksumResult
			cs := d.Checksums(sums[:0])
			fields := craft.Explain(d)
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintln(w, title(i, len(b.frames), f, d, b.nfrags))
			if derr != nil {
				fmt.Fprintf(w, "  (as built on purpose, a receiver reads it as: %v)\n", derr)
			}
			for _, l := range craft.Layers(fields) {
				fmt.Fprintf(w, "\n%s\n%s", l, craft.Diagram(fields, l))
				fmt.Fprintf(w, "  %-24s %5s %5s  %-22s %s\n", "field", "bit", "width", "value", "meaning")
				for _, x := range fields {
					if x.Layer != l {
						continue
					}
					v := x.Text
					if len([]rune(v)) > 22 {
						v = string([]rune(v)[:21]) + "…"
					}
					m := x.Meaning
					if x.RFC != "" {
						m += "  [" + x.RFC + "]"
					}
					fmt.Fprintf(w, "  %-24s %5d %5d  %-22s %s\n", x.Name, x.Bit, x.Width, v, m)
				}
			}
			dissectSums(w, cs)
		}
		return nil
	}
	return cmd
}

func dissectSums(w interface{ Write([]byte) (int, error) }, cs []craft.ChecksumResult) {
	dissect(w, nil, cs)
}
