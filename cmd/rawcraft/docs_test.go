package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/internal/exercise"
)

// TestDocsCurrent regenerates the CLI reference and the man pages from the
// command definitions and compares them with docs/cli and docs/man: a
// changed flag, help text or example without `go generate ./cmd/rawcraft`
// fails here.
func TestDocsCurrent(t *testing.T) {
	fresh := t.TempDir()
	if err := genDocs(fresh); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"cli", "man"} {
		want, _ := filepath.Glob(filepath.Join(fresh, sub, "*"))
		have, _ := filepath.Glob(filepath.Join("..", "..", "docs", sub, "*"))
		names := func(paths []string) []string {
			var n []string
			for _, p := range paths {
				n = append(n, filepath.Base(p))
			}
			return n
		}
		if !slices.Equal(names(want), names(have)) {
			t.Errorf("docs/%s has %v, the commands make %v: run go generate ./cmd/rawcraft", sub, names(have), names(want))
			continue
		}
		for _, p := range want {
			got, err := os.ReadFile(filepath.Join("..", "..", "docs", sub, filepath.Base(p)))
			if err != nil {
				t.Fatal(err)
			}
			exp, _ := os.ReadFile(p)
			if !bytes.Equal(got, exp) {
				t.Errorf("docs/%s/%s is stale: run go generate ./cmd/rawcraft", sub, filepath.Base(p))
			}
		}
	}
}

// TestReadmeGetsToThePoint: the README a newcomer reads first is short,
// says in its first line what rawcraft builds (IPv4 and IPv6), names the
// licence, and gives the test command exactly as .ci/run runs it.
func TestReadmeGetsToThePoint(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(readme), "\n"), "\n")
	if len(lines) > 250 {
		t.Errorf("README.md has %d lines; at most 250 (the rest belongs in docs/)", len(lines))
	}
	first := ""
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "#") {
			first = l
			break
		}
	}
	if !strings.Contains(first, "IPv4 and IPv6") {
		t.Errorf("README's first line %q does not say IPv4 and IPv6", first)
	}
	if !strings.Contains(string(readme), "[LICENSE](LICENSE)") {
		t.Error("README does not name the licence")
	}
	if lic, err := os.ReadFile(filepath.Join("..", "..", "LICENSE")); err != nil || !strings.Contains(string(lic), "The rawcraft Authors") || !strings.Contains(string(lic), "Redistribution and use in source and binary forms") {
		t.Errorf("LICENSE: %v", err)
	}
	ci, err := os.ReadFile(filepath.Join("..", "..", ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	const testCmd = "go test -p 1 -count=1 ./..."
	if !strings.Contains(string(ci), "\n"+testCmd+"\n") || !strings.Contains(string(readme), `sudo env "PATH=$PATH" `+testCmd) {
		t.Errorf("the README's test command and .ci/run's differ: both must run %q", testCmd)
	}
	for _, want := range []string{"first build", "2 cores"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README does not say %q", want)
		}
	}
}

// bareRawcraft is a command line that runs "rawcraft" from the PATH, which
// a fresh clone does not have: at the start, or after sudo and its
// VAR=value words. Inside lab exec, "rawcraft" is lab exec's own binary.
var bareRawcraft = regexp.MustCompile(`^(?:sudo\s+(?:[A-Z_]+=\S*\s+)*)?rawcraft\b`)

// TestDocsUseTheBuiltBinary: every command of every code block of the
// documents a reader follows in a clone says ./rawcraft, the binary the
// set-up built, not rawcraft. docs/real-network.md is for an installed
// rawcraft (setcap, other machines) and is left out.
func TestDocsUseTheBuiltBinary(t *testing.T) {
	for _, file := range []string{"README.md", "docs/tutorial.md", "docs/guide.md", "docs/json.md", "docs/scale.md"} {
		data, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			var cmds []int // line indexes of commands
			switch {
			case strings.HasPrefix(l, "```"):
				// A block: in a "$ " block the "$ " lines are commands, the
				// rest output; a sh block is all commands; any other block
				// without "$ " is output.
				sh := strings.HasPrefix(l, "```sh")
				j := i + 1
				var body []int
				prompt := false
				for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
					body = append(body, j)
					prompt = prompt || strings.HasPrefix(lines[j], "$ ")
				}
				for _, k := range body {
					if prompt && strings.HasPrefix(lines[k], "$ ") || !prompt && sh {
						cmds = append(cmds, k)
					}
				}
				i = j
			case strings.HasPrefix(l, "    sudo ") || strings.HasPrefix(l, "    rawcraft "):
				cmds = append(cmds, i) // an indented block's command
			}
			for _, k := range cmds {
				line := strings.TrimSpace(strings.TrimPrefix(lines[k], "$ "))
				i := k
				for _, part := range strings.Split(line, "|") {
					if bareRawcraft.MatchString(strings.TrimSpace(part)) {
						t.Errorf("%s:%d: %q runs rawcraft from the PATH; a clone has ./rawcraft", file, i+1, line)
					}
				}
			}
		}
	}
}

// What the documented commands leave in the clone — the example programs
// they build, the captures, graphs and JSON they write — is in .gitignore,
// so that following the README never leaves a stray file for git add.
func TestDocsOutputsIgnored(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	outputs := regexp.MustCompile(`go build (?:-o (\S+) )?\./(?:examples|cmd)/(\w+)|--(?:pcap|svg) (\S+\.(?:pcap|pcapng|svg))|> (\S+\.json)`)
	names := map[string]bool{}
	for _, file := range []string{"README.md", "docs/tutorial.md", "docs/guide.md", "docs/json.md", "docs/scale.md"} {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range outputs.FindAllStringSubmatch(string(data), -1) {
			for _, n := range []string{m[1], m[3], m[4]} {
				if n != "" {
					names[strings.ReplaceAll(n, "$i", "0")] = true
				}
			}
			if m[1] == "" && m[2] != "" {
				names[m[2]] = true
			}
		}
	}
	if !names["tcp_server"] || !names["rawcraft"] {
		t.Fatalf("found %v: the pattern no longer finds the builds", names)
	}
	for n := range names {
		cmd := exec.Command(git, "check-ignore", "-q", "--no-index", n)
		cmd.Dir = root
		if err := cmd.Run(); err != nil {
			t.Errorf("%s, which the docs' commands write in the clone, is not in .gitignore", n)
		}
	}
}

// The guide's inline examples say what the command prints: a trailer past
// the IPv4 total length needs a total length shorter than the bytes built
// (--ip-len 40 over a 33-byte datagram is a truncation, not a trailer).
func TestGuideTrailerExample(t *testing.T) {
	guide, err := os.ReadFile("../../docs/guide.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(guide)), " "), "(`--ip-len 30 --data Hello` claims 30 of the 33 bytes built: `Trailer 3 bytes: \"llo\"`)") {
		t.Fatal("the guide no longer gives --ip-len 30 --data Hello as its trailer example")
	}
	out, _, code := runCLI(t, "explain", "udp", "--ip-len", "30", "--data", "Hello")
	if code != 0 || !strings.Contains(out, `Trailer                      0    24  3 bytes: "llo"         3 bytes past the IPv4 total length 30`) {
		t.Errorf("exit %d, no 3-byte trailer \"llo\":\n%s", code, out)
	}
}

// The tutorial counts and names every exercise the registry has (it said
// "1 to 7, 3way and 4way" of 19), and README's five-minute block gives
// every one of Exercise 3's three messages with one checksum.
func TestTutorialNamesEveryExercise(t *testing.T) {
	tut, err := os.ReadFile("../../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(tut)), " ")
	all := exercise.All()
	if want := fmt.Sprintf("There are %d (`rawcraft exercise --help` lists them)", len(all)); !strings.Contains(text, want) {
		t.Errorf("the tutorial lacks %q", want)
	}
	for _, e := range all {
		if e.ID >= "1" && e.ID <= "7" && len(e.ID) == 1 {
			continue // "`1` to `7`"
		}
		if !strings.Contains(text, "`"+e.ID+"`") {
			t.Errorf("the tutorial does not name exercise %s", e.ID)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"Hello", "llHeo", "UQUQUQHello"} {
		if !strings.Contains(string(readme), "./rawcraft checksum --dport 8192 "+m+"\n") {
			t.Errorf("README's five-minute block lacks Exercise 3's message %s", m)
		}
	}
}
