package craft

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// receiverPhrasing is how a sentence about what a receiving host, its
// kernel or a router does reads: a subject that receives, then a verb
// of what it does with a packet; a passive fate ("is discarded"); a
// fate after a colon (": dropped"); an errno a socket gets.
var receiverPhrasing = regexp.MustCompile(`(?i)` +
	`\b(receivers?|kernel|kernel's|hosts?|routers?|server|server's|linux|nodes?|listeners?)\b[^.;:()"]{0,40}?\b(drops?|dropped|trims?|trimmed|accepts?|answers?|answered|reassembles?|reassembled|resets?|refused|refuses|ignores?|ignored|discards?|discarded|stops? reading|gives up|gave up|delivers?|delivered|reports?|forwards?|forwarded|fragments|look inside|uses?|keeps?|hash|hashes)\b` +
	`|\b(is|are|be|was|were)\s+(\w+ly\s+)?(dropped|discarded|trimmed|ignored|reassembled|refused|answered|reset)\b` +
	`|\bnever\s+(told|forwarded|answered)\b` +
	`|:\s*(dropped|discarded)\b` +
	`|ECONNREFUSED|ECONNRESET`)

// claimPhrasingAllowed are the string literals outside claims.go that read
// like a receiver claim and are not one, reviewed one by one: file, a
// piece of the literal, and why. A new sentence about what a receiver does
// belongs in the claims table (claims.go) with a lab proof, not here.
var claimPhrasingAllowed = []struct{ file, text, why string }{
	// What this run observed, read from the capture, the sockets or the
	// replies: not a rule about receivers.
	{"cmd/rawcraft/handshake.go", "this host's kernel reset the connection; run with", "observed: the kernel's RST was captured (Result.KernelRST)"},
	{"cmd/rawcraft/handshake.go", "the server reset the connection", "observed: the server's RST was captured"},
	{"cmd/rawcraft/handshake.go", "the connection was refused: nothing listens on", "observed RST|ACK to the SYN; the step's line gives claim syn-refused"},
	{"cmd/rawcraft/replay.go", "this host's kernel reset the connection it never opened", "observed: the kernel's RST was captured"},
	{"cmd/rawcraft/listencmd.go", "the kernel dropped %d", "capture statistics (PACKET_STATISTICS)"},
	{"cmd/rawcraft/listencmd.go", "the kernel dropped. It captures", "help: capture drops counted by PACKET_STATISTICS"},
	{"cmd/rawcraft/reset.go", "the server's answer are drawn", "help: the answer observed is drawn"},
	{"probe/result.go", "the kernel captured %d frames and dropped %d", "capture statistics (PACKET_STATISTICS)"},
	{"probe/result.go", "a router or firewall on the path refused the datagram", "inference from who answered: the ICMP error came from another address than the target"},
	{"probe/result.go", "the host is down, or something drops ICMP", "the possible causes of silence, none asserted"},
	{"internal/exercise/fragstory.go", "a router or firewall on the path refused the datagram", "inference from who answered, as in probe"},
	{"internal/exercise/fragstory.go", "the datagram was reassembled, but nothing listens", "inference from the port unreachable the host sent"},
	{"internal/exercise/fragstory.go", "the datagram was reassembled, and a firewall there rejected", "inference from the answer; the rule is claim closed-port-answers-rst"},
	{"internal/exercise/fragstory.go", "the datagram was reassembled, and a firewall there rejects echo", "inference from the answer the host sent"},
	{"internal/exercise/frag6story.go", "the echo request was reassembled and answered", "inference from the echo reply captured"},
	{"internal/exercise/frag6story.go", "the segment was reassembled and answered", "inference from the TCP answer captured"},
	{"internal/exercise/frag6story.go", "'s kernel answered it (%v), so it reassembled it", "observed answer, compared with the model"},
	{"internal/exercise/frag6story.go", "'s kernel sent no answer within the wait", "observed silence"},
	{"internal/exercise/frag6story.go", "RFC 5722 has an IPv6 receiver discard the whole packet", "what the RFC asks, then what the kernel was seen doing"},
	{"internal/exercise/demo.go", "connect(): ECONNREFUSED", "the errno the demo's socket got, observed"},
	{"internal/exercise/demo.go", "The RST that told the ordinary socket ECONNREFUSED", "heading over the captured RST"},
	{"internal/exercise/exercises.go", "predicted ECONNREFUSED and one RST", "the exercise's check against the lab"},
	// An exercise's prediction: the exercise runs it in the lab every time
	// and reports where Linux differs.
	{"internal/exercise/exercises.go", "the other 30 bytes of each message are discarded", "prediction, checked by exercise 1 in the lab"},
	{"internal/exercise/exercises.go", "makes its kernel answer the client's next segment with a RST", "prediction, checked by exercise 6 in the lab"},
	{"internal/exercise/exercises.go", "what the kernel writes, who hears the answers", "an exercise's title"},
	{"internal/exercise/exercises.go", "the receiver answers each later segment with a duplicate ACK", "prediction, checked by the fast-retransmit exercise in the lab"},
	{"internal/exercise/exercises.go", "the server accepts the connection", "prediction, checked by the article exercise in the lab"},
	// About rawcraft itself, the sender, or a field's definition.
	{"craft/explain.go", "reset: the connection is refused or aborted", "what the RST flag means (RFC 9293 §3.1)"},
	{"craft/explain6.go", "the hop limit hosts should use", "a router advertisement's field, as RFC 4861 §4.2 defines it"},
	{"craft/mld.go", "listeners answer within %d ms", "the Maximum Response Code's definition (RFC 3810 §5.1.3)"},
	{"session/receiver.go", "beyond our window's edge %d: dropped", "rawcraft's own receiver (serve) dropping it"},
	{"session/wire.go", "RST: the server reset the connection", "the RST observed; the rule that follows is claim ack-answered-rst"},
	{"cmd/rawcraft/demo.go", "makes Hs\ndrop port 9997", "the demo's own nftables rule"},
	{"cmd/rawcraft/replay.go", "Other link types are refused", "rawcraft refuses them"},
	{"cmd/rawcraft/send.go", "are refused before anything is sent", "rawcraft refuses them"},
	{"cmd/rawcraft/serve.go", "as Linux answers the client's SYN", "the default SYN-ACK options copy Linux's (session.DefaultSYNOptions, tested)"},
	{"cmd/rawcraft/build.go", "the server's answers: SYN-ACK, or RST|ACK when nothing listens", "an example's comment; the rule is claim syn-refused"},
	{"cmd/rawcraft/send.go", "Hs's kernel answers RST|ACK", "an example's comment; the rule is claim syn-refused"},
	{"cmd/rawcraft/handshake.go", "Your own kernel would reset the connection as soon as the SYN-ACK arrives", "help restating claim syn-ack-answered-rst"},
	{"cmd/rawcraft/serve.go", "Your kernel would answer the client's SYN with RST", "help restating claim closed-port-answers-rst"},
	{"cmd/rawcraft/trace.go", "next link is too small answers", "help restating claims df-too-big and ipv6-routers-never-fragment"},
	{"cmd/rawcraft/frag.go", "# the kernel fragments: 1480", "the sending host's kernel, in an example (exercise TestKernelFragmentsSendto)"},
	{"cmd/rawcraft/frag.go", "an ordinary UDP socket, the kernel fragments", "the sending host's kernel (exercise TestKernelFragmentsSendto)"},
	{"craft/icmpv6.go", "listener report", "an MLD message type's name"},
	{"craft/ipopt.go", "a router that forwarded the datagram wrote its address here", "what a recorded slot of Record Route holds (RFC 791 §3.1)"},
	{"cmd/rawcraft/trace.go", "runs out answers ICMPv6", "help restating claims ttl-expires and hop-limit-expires"},
	{"cmd/rawcraft/labimpair.go", "the receiving kernel drops it", "help restating claims tcp-checksum-bad and udp-checksum-bad"},
	{"cmd/rawcraft/reset.go", "ECONNRESET", "help restating claims rst-exact-resets and rst-in-window-challenged"},
	{"cmd/rawcraft/reset.go", "one outside the window is silently ignored", "help restating claim rst-outside-window-ignored"},
	{"probe/probe.go", "a RST is never answered (RFC 9293 §3.10.7)", "refusing a probe; claims closed-port-answers-rst and open-port-drops-no-syn"},
	{"probe/probe.go", "every member of the group may answer", "refusing a multicast target"},
	{"probe/rails.go", "every host there may answer", "refusing a broadcast target"},
	{"examples/socket_ping/main.go", "the kernel uses identifier %d", "this host's ping socket, what the example prints after reading it back"},
	// This host's own sockets: tested in rawsock against the kernel.
	{"rawsock/rawsock.go", "Linux keeps a zero ID", "this host's raw socket when sending (tested in rawsock)"},
	{"rawsock/rawsock.go", "a raw IP socket never fragments: the kernel refuses it", "this host's sendto (rawsock tests)"},
	{"rawsock/rawsock.go", "-byte header: the kernel refuses it", "this host's sendto (rawsock tests)"},
	{"rawsock/rawsock.go", "every IPv4 header has: the kernel refuses it", "this host's sendto (rawsock tests)"},
	{"rawsock/rawsock.go", "-byte datagram: the kernel refuses it", "this host's sendto (rawsock tests)"},
	{"rawsock/ring_linux.go", "the kernel refused a frame", "the tx ring's status for our own frame"},
	{"cmd/rawcraft/handshake.go", "Linux drops a frame injected on lo", "help restating claim lo-injected-dropped"},
	{"cmd/rawcraft/serve.go", "Linux drops frames injected on lo", "help restating claim lo-injected-dropped"},
	{"internal/exercise/paris.go", "routers that balance load per flow hash the first bytes", "the Paris exercise's explanation, checked by it against the routers' counters in the (IPv4) multipath lab"},
}

// No Go source outside claims.go states what a receiver does in a string
// of its own: such sentences come from the claims table, where each has a
// lab proof. Sentences that only read like one are listed, with why, in
// claimPhrasingAllowed; an entry that no longer matches fails too.
func TestReceiverClaimsOnlyInTheTable(t *testing.T) {
	root := ".."
	used := make([]bool, len(claimPhrasingAllowed))
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if rel == "craft/claims.go" {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		n++
		ast.Inspect(f, func(node ast.Node) bool {
			lit, ok := node.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			// Every match, not only the first: a long help text can hold
			// more than one.
		matches:
			for _, m := range receiverPhrasing.FindAllStringIndex(s, -1) {
				for i, a := range claimPhrasingAllowed {
					if a.file != rel {
						continue
					}
					for k := 0; ; {
						at := strings.Index(s[k:], a.text)
						if at < 0 {
							break
						}
						if at += k; at < m[1] && m[0] < at+len(a.text) {
							used[i] = true
							continue matches
						}
						k = at + 1
					}
				}
				t.Errorf("%s: %q reads like a claim about what a receiver does: take it from the claims table (craft/claims.go), with a lab proof (in %q)", fset.Position(lit.Pos()), s[m[0]:m[1]], s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("read %d Go files under %s: not the module", n, root)
	}
	for i, a := range claimPhrasingAllowed {
		if !used[i] {
			t.Errorf("allowed %s %q matches no sentence any more: remove it", a.file, a.text)
		}
	}
}
