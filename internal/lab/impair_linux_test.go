package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// blast sends n UDP datagrams of size bytes from Hc to Hs:port, pps a
// second (0: as fast as the socket takes them), each carrying its index
// and send time, and returns what Hs's socket received: index → arrival
// times, and the one-way delays.
type arrival struct {
	idx  uint32
	at   time.Time
	sent time.Time
}

func blast(t *testing.T, l *Lab, port, n, size, pps int) []arrival {
	t.Helper()
	srv := udpListen(t, l, Hs, net.JoinHostPort(AddrHs.String(), itoa(port)))
	defer srv.Close()
	_ = srv.SetReadBuffer(16 << 20)
	var got []arrival
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			_ = srv.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
			k, err := srv.Read(buf)
			if err != nil {
				return
			}
			if k >= 12 {
				got = append(got, arrival{idx: binary.BigEndian.Uint32(buf), at: time.Now(),
					sent: time.Unix(0, int64(binary.BigEndian.Uint64(buf[4:])))})
			}
		}
	}()
	var cli *net.UDPConn
	if err := l.Do(Hc, func() error {
		var err error
		cli, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: AddrHs.AsSlice(), Port: port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	msg := make([]byte, size)
	start := time.Now()
	for i := range n {
		if pps > 0 {
			if due := start.Add(time.Duration(i) * time.Second / time.Duration(pps)); time.Until(due) > 0 {
				time.Sleep(time.Until(due))
			}
		} else if i%100 == 99 {
			time.Sleep(2 * time.Millisecond) // the receiver's socket keeps up
		}
		binary.BigEndian.PutUint32(msg, uint32(i))
		binary.BigEndian.PutUint64(msg[4:], uint64(time.Now().UnixNano()))
		if _, err := cli.Write(msg); err != nil && !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatal(err)
		}
	}
	wg.Wait()
	return got
}

func itoa(i int) string { return strconv.Itoa(i) }

func statusHas(t *testing.T, l *Lab, want string) string {
	t.Helper()
	st, err := l.ImpairStatus()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if strings.Contains(s, want) {
			return s
		}
	}
	t.Fatalf("lab status does not show %q: %q", want, st)
	return ""
}

// TestImpairLossClear: 10 % random loss drops 10 % ± 3 % of 2000 frames,
// the rule's counter says exactly how many, and --clear brings every frame
// back.
func TestImpairLossClear(t *testing.T) {
	l := ForTest(t, Config{})
	if err := l.Impair(Impairment{Dir: ToHs, Loss: 10}); err != nil {
		t.Fatal(err)
	}
	line := statusHas(t, l, "hc→hs: random loss 10%")
	got := blast(t, l, 7001, 2000, 64, 0)
	lost := 2000 - len(got)
	t.Logf("10%% loss: %d of 2000 lost (%.1f%%); status %q", lost, float64(lost)/20, line)
	if lost < 140 || lost > 260 {
		t.Fatalf("10%% loss dropped %d of 2000 (want 200 ± 60)", lost)
	}
	// The rule also meets the kernel's own IPv4 frames on the cable (IGMP
	// reports as links come up): its counter is the test's losses, or a
	// frame or two more.
	line = statusHas(t, l, "random loss 10%")
	counted := -1
	if i := strings.LastIndex(line, "["); i >= 0 {
		fmt.Sscanf(line[i:], "[%d frames so far]", &counted)
	}
	if counted < lost || counted > lost+3 {
		t.Fatalf("the rule's counter (%d) disagrees with the %d frames lost: %q", counted, lost, line)
	}
	if err := l.ClearImpair(); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.ImpairStatus(); len(st) != 0 {
		t.Fatalf("after clear, status still says %q", st)
	}
	if got := blast(t, l, 7002, 300, 64, 0); len(got) != 300 {
		t.Fatalf("after clear, %d of 300 frames arrived", len(got))
	}
}

// rawTCP sends a bare TCP segment (no payload) from Hc to Hs:9 with seq.
func tcpSegment(seq uint32) []byte {
	b := make([]byte, 40)
	b[0], b[8], b[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(b[2:], 40)
	copy(b[12:], AddrHc.AsSlice())
	copy(b[16:], AddrHs.AsSlice())
	binary.BigEndian.PutUint16(b[20:], 40000)
	binary.BigEndian.PutUint16(b[22:], 9)
	binary.BigEndian.PutUint32(b[24:], seq)
	b[32], b[33] = 5<<4, 0x10 // ACK
	binary.BigEndian.PutUint16(b[34:], 1000)
	return b
}

// TestImpairDropSeq: a rule for one sequence number drops that segment
// exactly once — the first copy — and nothing else.
func TestImpairDropSeq(t *testing.T) {
	l := ForTest(t, Config{})
	const target = 1000 + 50*100
	if err := l.Impair(Impairment{Dir: ToHs, DropNth: 1, Drop: Match{Proto: 6, Port: 9, Seq: target, HasSeq: true}}); err != nil {
		t.Fatal(err)
	}
	var rx, tx int
	if err := l.Do(Hs, func() error {
		var err error
		rx, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rx)
	if err := l.Do(Hc, func() error {
		var err error
		tx, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tx)
	dst := &unix.SockaddrInet4{Addr: AddrHs.As4()}
	var sent []uint32
	for i := range 100 {
		sent = append(sent, uint32(1000+i*100))
	}
	sent = append(sent, target, target) // the segment goes three times
	for _, s := range sent {
		if err := unix.Sendto(tx, tcpSegment(s), 0, dst); err != nil {
			t.Fatal(err)
		}
	}
	tv := unix.NsecToTimeval(int64(500 * time.Millisecond))
	_ = unix.SetsockoptTimeval(rx, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	count := map[uint32]int{}
	buf := make([]byte, 256)
	for {
		n, err := unix.Read(rx, buf)
		if err != nil {
			break
		}
		if n >= 40 && binary.BigEndian.Uint16(buf[22:]) == 9 {
			count[binary.BigEndian.Uint32(buf[24:])]++
		}
	}
	for _, s := range sent {
		want := 1
		if s == target {
			want = 2
		}
		if count[s] != want {
			t.Errorf("seq %d arrived %d times, want %d", s, count[s], want)
		}
	}
	line := statusHas(t, l, "seq 6000")
	if !strings.Contains(line, "[1 frames so far]") {
		t.Errorf("status: %q, want one frame dropped", line)
	}
}

// TestImpairRate: a 8 Mbit/s bottleneck offered 16 Mbit/s holds its rate
// within 5 %, and drops the excess at its bounded queue.
func TestImpairRate(t *testing.T) {
	l := ForTest(t, Config{})
	const rate = 8_000_000
	if err := l.Impair(Impairment{Dir: ToHs, Rate: rate, Queue: 32 << 10}); err != nil {
		t.Fatal(err)
	}
	const size = 1000
	got := blast(t, l, 7003, 3000, size, 2000) // 1.5 s at 2000/s: 16.8 Mbit/s offered
	if len(got) < 100 {
		t.Fatalf("only %d frames came through the bottleneck", len(got))
	}
	frame := size + 8 + 20 + 14 // what tbf counts: the Ethernet frame
	span := got[len(got)-1].at.Sub(got[0].at)
	measured := float64((len(got)-1)*frame*8) / span.Seconds()
	t.Logf("bottleneck %d bit/s: %d of 3000 frames through in %v: %.0f bit/s (%.2f%%)", rate, len(got), span, measured, 100*(measured-rate)/rate)
	if measured < rate*0.95 || measured > rate*1.05 {
		t.Fatalf("bottleneck of %d bit/s measured %.0f bit/s: more than 5%% off", rate, measured)
	}
	if len(got) > 2000 {
		t.Fatalf("%d of 3000 frames passed an 8 Mbit/s bottleneck offered twice that: the queue is not bounded", len(got))
	}
	statusHas(t, l, "bottleneck 8 Mbit/s, queue 32768 bytes")
}

// TestImpairDuplicate: 50 % duplication brings 1.5 copies a frame.
func TestImpairDuplicate(t *testing.T) {
	l := ForTest(t, Config{})
	if err := l.Impair(Impairment{Dir: ToHs, Duplicate: 50}); err != nil {
		t.Fatal(err)
	}
	got := blast(t, l, 7004, 1000, 64, 0)
	t.Logf("50%% duplication: %d frames for 1000 sent", len(got))
	if len(got) < 1420 || len(got) > 1580 {
		t.Fatalf("50%% duplication: %d frames arrived for 1000 (want 1500 ± 80)", len(got))
	}
}

// TestImpairDelay: a 40 ms delay forwarder, one way, with 10 ms jitter:
// every frame arrives between 40 and 50 ms (plus the forwarder's own
// lateness) after it left, none lost, in order; the delay's rule shows in
// status and goes with Stop.
func TestImpairDelay(t *testing.T) {
	l := ForTest(t, Config{})
	base := blast(t, l, 7005, 200, 64, 1000)
	dl, err := l.StartDelay(ToHs, 40*time.Millisecond, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Stop()
	statusHas(t, l, "hc→hs: delay 40ms + up to 10ms jitter")
	got := blast(t, l, 7006, 1000, 64, 1000)
	st := dl.Stats()
	if len(got) != 1000 {
		t.Fatalf("%d of 1000 frames came through the delay (forwarder: %+v)", len(got), st)
	}
	oneWay := func(a []arrival) []time.Duration {
		var d []time.Duration
		for _, x := range a {
			d = append(d, x.at.Sub(x.sent))
		}
		slices.Sort(d)
		return d
	}
	b, d := oneWay(base), oneWay(got)
	t.Logf("one way without delay: median %v, 99th %v; with 40 ms + 10 ms jitter: min %v median %v 99th %v max %v; forwarder %+v",
		b[len(b)/2], b[len(b)*99/100], d[0], d[len(d)/2], d[len(d)*99/100], d[len(d)-1], st)
	if d[0] < 40*time.Millisecond {
		t.Fatalf("a frame arrived %v after it left: less than the 40 ms delay", d[0])
	}
	if d[len(d)/2] > 60*time.Millisecond {
		t.Fatalf("median one-way time %v: the forwarder adds more than 10 ms to 40 ms + jitter", d[len(d)/2])
	}
	for i := 1; i < len(got); i++ {
		if got[i].idx < got[i-1].idx {
			t.Fatalf("frame %d arrived after %d: the delay reordered", got[i-1].idx, got[i].idx)
		}
	}
	if err := dl.Stop(); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.ImpairStatus(); len(st) != 0 {
		t.Fatalf("after Stop, status still says %q", st)
	}
	if got := blast(t, l, 7007, 100, 64, 0); len(got) != 100 {
		t.Fatalf("after Stop, %d of 100 frames arrived", len(got))
	}
}

func TestImpairBadValues(t *testing.T) {
	for _, im := range []Impairment{{Loss: 101}, {Loss: -1}, {DropAlso: 2}, {Drop: Match{Port: 80}}, {Rate: 10}, {Queue: 10, Rate: 1e6}} {
		if err := im.validate(); !errors.Is(err, ErrImpair) {
			t.Errorf("%+v: %v, want ErrImpair", im, err)
		}
	}
}
