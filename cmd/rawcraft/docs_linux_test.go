package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rawcraft/rawcraft/internal/lab"
	"github.com/spf13/cobra"
)

// The documentation's runnable command blocks. A fenced block in README.md or
// docs/tutorial.md is run by TestDocsRunnable when the line before its fence
// is
//
//	<!-- runnable -->        run always (keep these fast: no lab, or a few seconds)
//	<!-- runnable slow -->   run unless -short
//
// In a block whose lines start with "$ ", those lines are the commands and
// the lines after each one are its shown output: every shown line must
// appear in what the command printed (stdout and stderr), numbers other than
// IPv4 addresses standing for any number and "…" for any text. In any other
// block every line is a command ("# …" comments and blank lines aside). The
// runnable blocks of one file run in order, in one scratch directory, with
// one lab of the test's own: each block is a bash script whose every
// foreground command must exit 0; "sudo" is a no-op (the test runs as root),
// "go build … ./cmd/rawcraft" puts the test's binary where it says, "rawcraft"
// is not on the PATH (a fresh clone has only ./rawcraft; inside lab exec,
// "rawcraft" is lab exec's own binary), and "rawcraft lab" works on the
// test's lab (--name). A background command ("… &") must be ended by the block itself:
// one still running when the block ends fails the test.

// docCmd is one command of a block and the output the docs show for it.
type docCmd struct {
	line  string
	shown []string
	bg    bool
}

// docBlock is one runnable block.
type docBlock struct {
	where string // FILE:LINE of the fence
	slow  bool
	cmds  []docCmd
}

var runnableMark = regexp.MustCompile(`^<!--\s*runnable(\s+slow)?\s*-->\s*$`)

// docBlocks finds the runnable blocks of a Markdown file.
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		m := runnableMark.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("%s:%d: a runnable mark must sit right above a fenced block", path, i+1)
		}
		b := docBlock{where: fmt.Sprintf("%s:%d", filepath.Base(path), i+2), slow: m[1] != ""}
		var body []string
		j := i + 2
		for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			body = append(body, lines[j])
		}
		if j == len(lines) {
			t.Fatalf("%s: the block is never closed", b.where)
		}
		b.cmds = parseBlock(body)
		if len(b.cmds) == 0 {
			t.Fatalf("%s: a runnable block without a command", b.where)
		}
		blocks = append(blocks, b)
		i = j
	}
	return blocks
}

// parseBlock splits a block's lines into commands and shown output.
func parseBlock(body []string) []docCmd {
	prompt := false
	for _, l := range body {
		prompt = prompt || strings.HasPrefix(l, "$ ")
	}
	var cmds []docCmd
	for k := 0; k < len(body); k++ {
		l := body[k]
		if prompt && !strings.HasPrefix(l, "$ ") {
			if len(cmds) > 0 && strings.TrimSpace(l) != "" && strings.TrimSpace(l) != "…" {
				c := &cmds[len(cmds)-1]
				c.shown = append(c.shown, strings.TrimSpace(l))
			}
			continue
		}
		l = strings.TrimPrefix(l, "$ ")
		for strings.HasSuffix(l, `\`) && k+1 < len(body) {
			k++
			l = strings.TrimSuffix(l, `\`) + " " + strings.TrimSpace(body[k])
		}
		l = strings.TrimSpace(stripComment(l))
		if l == "" {
			continue
		}
		c := docCmd{line: l}
		if strings.HasSuffix(l, "&") && !strings.HasSuffix(l, "&&") {
			c.bg, c.line = true, strings.TrimSpace(strings.TrimSuffix(l, "&"))
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// stripComment removes a shell comment (a # at the start or after a blank,
// outside quotes).
func stripComment(l string) string {
	var quote rune
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

var shownToken = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|0x[0-9A-Fa-f]+|\d+(?:[.,]\d+)*|…|\s+`)

// shownPattern turns a line of shown output into a pattern: IPv4 addresses
// literal, any other number any number, "…" any text, blanks any blanks.
func shownPattern(line string) *regexp.Regexp {
	var b strings.Builder
	last := 0
	for _, m := range shownToken.FindAllStringIndex(line, -1) {
		b.WriteString(regexp.QuoteMeta(line[last:m[0]]))
		tok := line[m[0]:m[1]]
		switch {
		case strings.Count(tok, ".") == 3 && !strings.Contains(tok, ","):
			b.WriteString(regexp.QuoteMeta(tok))
		case strings.HasPrefix(tok, "0x"):
			b.WriteString(`0x[0-9A-Fa-f]+`)
		case tok == "…":
			b.WriteString(`.*`)
		case strings.TrimSpace(tok) == "":
			b.WriteString(`\s+`)
		default:
			b.WriteString(`[0-9][0-9.,]*`)
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(line[last:]))
	return regexp.MustCompile(b.String())
}

// docEnv is the scratch directory, PATH and lab the blocks run with.
type docEnv struct {
	dir, bin, labName string
	path              string
}

// newDocEnv makes a scratch directory that looks like a clone (every
// top-level entry of the repository linked in, so that go build ./examples/…
// works there) and a bin directory with sudo and go — and rawcraft when
// installedToo.
func newDocEnv(t *testing.T, installedToo bool) *docEnv {
	t.Helper()
	bin := buildBinary(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "rawcraft" {
			continue // a binary left in the checkout would be stale: the test's own goes there
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// ./rawcraft is there from the start, as if the set-up's build had run
	// (with -short the block that builds it may be left out).
	if err := os.Symlink(bin, filepath.Join(dir, "rawcraft")); err != nil {
		t.Fatal(err)
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	tools := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(tools, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// sudo: the test is root; VAR=value words before the command are set.
	write("sudo", `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in *=*) export "$1"; shift;; *) break;; esac
done
exec "$@"
`)
	// go build of ./cmd/rawcraft: the test's binary, where -o says.
	write("go", fmt.Sprintf(`#!/bin/sh
if [ "$1" = build ]; then
  out= pkg=
  shift
  while [ $# -gt 0 ]; do
    case "$1" in -o) out="$2"; shift 2;; -*) shift;; *) pkg="$1"; shift;; esac
  done
  [ -n "$out" ] || out=$(basename "$pkg")
  if [ "$pkg" = ./cmd/rawcraft ]; then exec ln -sf %q "$out"; fi
  set -- build -o "$out" "$pkg"
fi
exec %q "$@"
`, bin, realGo))
	// rawcraft on the PATH for the help examples, whose "rawcraft" is an
	// installed one; the documentation's blocks run without it, as in a
	// fresh clone: they use ./rawcraft, which the set-up built.
	installed := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(installed, "rawcraft")); err != nil {
		t.Fatal(err)
	}
	e := &docEnv{dir: dir, bin: bin, labName: fmt.Sprintf("dc%d-%d", os.Getpid(), docLabs.Add(1)), path: tools + ":" + installed + ":" + os.Getenv("PATH")}
	if !installedToo {
		e.path = tools + ":" + os.Getenv("PATH")
		if p, err := exec.LookPath("rawcraft"); err == nil {
			t.Fatalf("a rawcraft on the test's own PATH (%s) would hide a block that forgets ./", p)
		}
	}
	t.Cleanup(func() { e.labDown() })
	return e
}

// docLabs numbers the docEnvs' labs: the documents run side by side,
// each on a lab of its own.
var docLabs atomic.Int64

func (e *docEnv) labDown() {
	_ = exec.Command(e.bin, "lab", "--name", e.labName, "down").Run()
}

var labWord = regexp.MustCompile(`\brawcraft lab `)

// script is the block as bash runs it: each foreground command followed by
// a marker line with its index and exit status.
func (e *docEnv) script(b docBlock) string {
	var s strings.Builder
	s.WriteString("exec 2>&1\n")
	for i, c := range b.cmds {
		line := labWord.ReplaceAllString(c.line, "rawcraft lab --name "+e.labName+" ")
		if c.bg {
			fmt.Fprintf(&s, "%s &\n", line)
			continue
		}
		fmt.Fprintf(&s, "%s\nprintf '\\n@@docs %d %%d@@\\n' $?\n", line, i)
	}
	return s.String()
}

var markerRe = regexp.MustCompile(`(?m)^@@docs (\d+) (\d+)@@\n?`)

// run runs one block and checks every command's status and shown output.
func (e *docEnv) run(t *testing.T, b docBlock, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", e.script(b))
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "PATH="+e.path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout = &out
	start := time.Now()
	err := cmd.Run()
	pgid := cmd.Process.Pid
	left := false
	for i := 0; i < 40 && syscall.Kill(-pgid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if syscall.Kill(-pgid, 0) == nil {
		left = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	text := out.String()
	t.Logf("%s (%.1f s):\n%s", b.where, time.Since(start).Seconds(), text)
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %v", b.where, timeout)
	}
	if err != nil {
		t.Errorf("%s: bash: %v", b.where, err)
	}
	if left {
		t.Errorf("%s: a background command outlived the block (end it in the block: kill %%1)", b.where)
	}
	// Each command's output is what came before its marker.
	outputs := map[int]string{}
	status := map[int]int{}
	prev := 0
	for _, m := range markerRe.FindAllStringSubmatchIndex(text, -1) {
		var i, rc int
		fmt.Sscan(text[m[2]:m[3]], &i)
		fmt.Sscan(text[m[4]:m[5]], &rc)
		outputs[i], status[i] = text[prev:m[0]], rc
		prev = m[1]
	}
	for i, c := range b.cmds {
		if c.bg {
			continue
		}
		rc, ok := status[i]
		if !ok {
			t.Errorf("%s: %q never finished", b.where, c.line)
			continue
		}
		if rc != 0 {
			t.Errorf("%s: %q exited %d:\n%s", b.where, c.line, rc, outputs[i])
		}
		for _, want := range c.shown {
			if !matchesShown(outputs[i], want) {
				t.Errorf("%s: %q: the docs show\n\t%s\nbut the output has no such line:\n%s", b.where, c.line, want, outputs[i])
			}
		}
	}
}

// matchesShown says whether some line of out matches the shown line.
func matchesShown(out, shown string) bool {
	re := shownPattern(shown)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if re.MatchString(sc.Text()) {
			return true
		}
	}
	return false
}

// docFiles are the documents whose runnable blocks TestDocsRunnable runs.
var docFiles = []string{"README.md", "docs/tutorial.md", "docs/guide.md", "docs/json.md", "docs/scale.md"}

// TestDocsRunnable runs the runnable blocks of docFiles, each file in a
// scratch clone of its own, without a rawcraft on the PATH: a block that
// says "rawcraft" where a fresh clone has only ./rawcraft fails with
// "command not found", as it would for a reader. The files run side by
// side (-parallel of them at once; the blocks of one file in order): each
// has its own lab, and their blocks mostly wait — for labs, for the
// receivers' timers.
func TestDocsRunnable(t *testing.T) {
	lab.RequireRoot(t)
	for _, file := range docFiles {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			blocks := docBlocks(t, filepath.Join("..", "..", file))
			if len(blocks) == 0 {
				t.Fatalf("%s has no runnable block", file)
			}
			e := newDocEnv(t, false)
			for _, b := range blocks {
				if b.slow && testing.Short() {
					t.Logf("%s: slow, left out with -short", b.where)
					continue
				}
				e.run(t, b, time.Minute)
			}
		})
	}
}

// helpSkip says which help examples the test does not run, and why: each
// row is a piece of the command line and the reason.
var helpSkip = []struct{ part, why string }{
	{"127.0.0.1", "sends from the machine's own namespace"},
	{"192.168.", "a real network"},
	{"printer.local", "a real network"},
	{"nc -l", "needs nc, which is not a prerequisite (docs/guide.md's TCP by hand uses the article's server)"},
	{"rawcraft serve", "waits for a client: the examples' client is nc, which is not a prerequisite (session's tests drive serve with real clients)"},
	{"| nc ", "needs nc, which is not a prerequisite"},
	{"rawcraft handshake --dst 198.18.1.1 --dport 9999", "needs the server nc would have started"},
	{"rawcraft reset", "needs a live connection (docs/guide.md's TCP by hand sets one up)"},
	{"rawcraft listen --count", "waits for traffic nobody sends"},
	{"rawcraft listen --proto", "waits for traffic nobody sends"},
	{"rawcraft listen -q", "waits for traffic nobody sends"},
	{"rawcraft read ", "needs a capture file of the reader's"},
	{"tcpdump ", "needs a capture file of the reader's"},
	{"exercise 5 ", "the article's own timing: a minute"},
	{"exercise all", "every exercise: about a minute"},
	{"--for 60s", "runs for the minute it says"},
	{"capture.pcapng", "needs a capture file of the reader's"},
	{"frag --size 4000 --mtu 1500", "docs/guide.md's Fragmentation block runs it"},
	{"frag --size 4000 --frag 1480 --frag-drop", "docs/guide.md's Fragmentation block runs it"},
	{"frag --dst 198.18.2.2 --size 1400 --df", "docs/guide.md's Fragmentation block runs it"},
	{"frag --size 4000 --sender socket", "docs/guide.md's Fragmentation block runs it"},
}

// slowHelp marks help examples left out with -short: they build labs.
var slowHelp = []string{"sudo rawcraft "}

// TestDocsHelpExamples runs every example of every command's help that is
// safe in a lab and quick enough, as a block per command (a command's example
// lines run in order, as a reader would type them), each starting without a
// lab and ending with the test's lab removed. The commands' blocks run side
// by side, each in a scratch clone with a lab of its own; cleanup's, which
// sweeps every dead run's labs, runs alone.
func TestDocsHelpExamples(t *testing.T) {
	lab.RequireRoot(t)
	root := newRoot(io.Discard, io.Discard)
	var cmds []*commandExample
	collectExamples(root, &cmds)
	ran := 0
	for _, c := range cmds {
		b := docBlock{where: "help " + c.path}
		for _, l := range parseBlock(strings.Split(c.example, "\n")) {
			why := ""
			for _, s := range helpSkip {
				if strings.Contains(l.line+" ", s.part) {
					why = s.why
					break
				}
			}
			if why == "" && testing.Short() {
				for _, s := range slowHelp {
					if strings.HasPrefix(l.line, s) {
						why = "builds a lab: left out with -short"
					}
				}
			}
			if why != "" {
				t.Logf("help %s: not run: %s — %s", c.path, l.line, why)
				continue
			}
			b.cmds = append(b.cmds, l)
		}
		if len(b.cmds) == 0 {
			continue
		}
		// A fragment of a session: a lab command with no lab up gets one.
		if strings.Contains(c.example, "rawcraft lab ") && !strings.Contains(c.example, "lab up") {
			b.cmds = append([]docCmd{{line: "rawcraft lab up"}}, b.cmds...)
		}
		t.Run(c.path, func(t *testing.T) {
			if c.path != "rawcraft cleanup" {
				t.Parallel()
			}
			e := newDocEnv(t, true)
			e.run(t, b, time.Minute)
			e.labDown()
		})
		ran += len(b.cmds)
	}
	t.Logf("%d help example lines run", ran)
}

type commandExample struct{ path, example string }

func collectExamples(c *cobra.Command, out *[]*commandExample) {
	if c.Example != "" {
		*out = append(*out, &commandExample{c.CommandPath(), c.Example})
	}
	for _, sub := range c.Commands() {
		collectExamples(sub, out)
	}
}

// TestDocsShownLines checks the rule that compares shown output with real
// output: numbers vary, addresses, words and "…" do not.
func TestDocsShownLines(t *testing.T) {
	shown := "198.18.1.1:9998/tcp    closed        rst   RST|ACK from 198.18.1.1:9998 in 0.025 ms — nothing listens there; … (ECONNREFUSED)"
	for out, want := range map[string]bool{
		"198.18.1.1:9998/tcp    closed        rst                    RST|ACK from 198.18.1.1:9998 in 0.131 ms — nothing listens there; the kernel refused the connection (ECONNREFUSED)": true,
		"198.18.1.1:9998/tcp    open          syn-ack                SYN|ACK from 198.18.1.1:9998 in 0.131 ms — nothing listens there; x (ECONNREFUSED)":                                 false,
		"198.18.1.2:9998/tcp    closed        rst                    RST|ACK from 198.18.1.2:9998 in 0.131 ms — nothing listens there; x (ECONNREFUSED)":                                 false,
	} {
		if got := matchesShown(out, shown); got != want {
			t.Errorf("matchesShown(%q) = %v, want %v", out, got, want)
		}
	}
	cmds := parseBlock([]string{"$ sudo ./rawcraft lab up   # a comment", "shown 1", "…", "$ echo 'a # b' \\", "  c &"})
	if len(cmds) != 2 || cmds[0].line != "sudo ./rawcraft lab up" || len(cmds[0].shown) != 1 || cmds[1].line != "echo 'a # b'  c" || !cmds[1].bg {
		t.Errorf("parseBlock: %+v", cmds)
	}
}
