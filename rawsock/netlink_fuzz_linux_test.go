package rawsock

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// FuzzNetlinkReplies feeds the netlink library's parsers of the replies
// Resolve asks for — a link (LinkByIndex: RTM_NEWLINK) and a neighbour
// table entry (NeighList: RTM_NEWNEIGH) — arbitrary bytes, through the same
// containment Resolve uses: nothing may panic out of it. The route reply's
// parser (deserializeRoute) is not exported by the library and cannot be
// reached without a kernel; contained guards it in Resolve all the same.
//
// RAWCRAFT_FUZZ_STRICT=1 turns a panic the containment caught into a
// failure, to find the library's own bugs and report them upstream. It
// found two in vishvananda/netlink v1.3.1 at once: LinkDeserialize and
// NeighDeserialize slice their fixed header (ifinfomsg, ndmsg) without a
// length check, and NeighDeserialize slices an NDA_LLADDR attribute
// shorter than its own header (testdata/fuzz/FuzzNetlinkReplies).
func FuzzNetlinkReplies(f *testing.F) {
	// A real RTM_NEWLINK body (ifinfomsg + IFLA_IFNAME "lo" + IFLA_MTU)
	// and an RTM_NEWNEIGH body (ndmsg + NDA_DST + NDA_LLADDR).
	f.Add([]byte{0, 0, 4, 3, 1, 0, 0, 0, 0x49, 0, 1, 0, 0, 0, 0, 0,
		7, 0, 3, 0, 'l', 'o', 0, 0, 8, 0, 4, 0, 0, 0, 1, 0})
	f.Add([]byte{2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 1,
		8, 0, 1, 0, 198, 18, 1, 1, 10, 0, 2, 0, 2, 0, 0, 0, 1, 1, 0, 0})
	f.Add([]byte{})
	strict := os.Getenv("RAWCRAFT_FUZZ_STRICT") != ""
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) {
			if err != nil && strict && strings.Contains(err.Error(), "failed to parse") {
				t.Fatal(err)
			}
		}
		hdr := unix.NlMsghdr{Type: unix.RTM_NEWLINK, Len: uint32(unix.NLMSG_HDRLEN + len(b))}
		check(contained("link lookup", func() error {
			_, err := netlink.LinkDeserialize(&hdr, b)
			return err
		}))
		check(contained("neighbour table", func() error {
			_, err := netlink.NeighDeserialize(b)
			return err
		}))
	})
}

// A panic inside the library is one error naming the call.
func TestContainedTurnsAPanicIntoAnError(t *testing.T) {
	err := contained("route lookup", func() error {
		panic("index out of range") // as a library bug would

	})
	if err == nil || !strings.HasPrefix(err.Error(), "route lookup: the netlink library failed") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("%v", err)
	}
	sentinel := errors.New("x")
	if err := contained("c", func() error { return sentinel }); err != sentinel {
		t.Fatalf("an ordinary error changed: %v", err)
	}
}
