package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rawcraft/rawcraft/listen"
)

// The JSON contract of docs/json.md: each table, under its
// "<!-- json: NAME -->" mark, lists the keys of one command's --json lines.

type jsonKey struct {
	typ    string // string, integer, number, boolean, array, object, or two of them: "integer or string"
	always bool
}

type jsonContract map[string]map[string]jsonKey // section → key path → key

var jsonMark = regexp.MustCompile(`^<!--\s*json:\s*(\S+)\s*-->$`)

// readJSONContract parses docs/json.md's tables.
func readJSONContract(t *testing.T) jsonContract {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonContract{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		m := jsonMark.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		keys := map[string]jsonKey{}
		for j := i + 3; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			row := strings.Split(strings.ReplaceAll(lines[j], `\|`, "¦"), "|")
			if len(row) < 5 {
				t.Fatalf("docs/json.md:%d: a row needs key, type, presence, meaning", j+1)
			}
			key := strings.Trim(strings.TrimSpace(row[1]), "`")
			typ, pres := strings.TrimSpace(row[2]), strings.TrimSpace(row[3])
			known := typ != ""
			for _, one := range strings.Split(typ, " or ") {
				known = known && strings.Contains(" string integer number boolean array object ", " "+one+" ")
			}
			if !known || pres != "always" && pres != "optional" {
				t.Fatalf("docs/json.md:%d: type %q, presence %q", j+1, typ, pres)
			}
			keys[key] = jsonKey{typ, pres == "always"}
		}
		if len(keys) == 0 {
			t.Fatalf("docs/json.md:%d: json mark without a table", i+1)
		}
		c[m[1]] = keys
	}
	// read's lines are build's packets with read's keys besides.
	if c["read"] != nil {
		for k, v := range c["build"] {
			c["read"][k] = v
		}
	}
	return c
}

// check reports how one line of a command's --json output breaks the
// contract of section: a key not listed, a value of another type, a key
// marked always that is missing.
func (c jsonContract) check(section, line string) []string {
	keys := c[section]
	if keys == nil {
		return []string{"docs/json.md has no section " + section}
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return []string{fmt.Sprintf("not one JSON object: %v", err)}
	}
	if dec.More() {
		return []string{"more than one JSON value on a line"}
	}
	var errs []string
	var walk func(prefix string, o map[string]any)
	walk = func(prefix string, o map[string]any) {
		for k, v := range keys {
			rest := strings.TrimPrefix(k, prefix)
			if strings.HasPrefix(k, prefix) && !strings.Contains(rest, ".") && v.always {
				if _, ok := o[rest]; !ok {
					errs = append(errs, fmt.Sprintf("%s%s: marked always, missing", prefix, rest))
				}
			}
		}
		for name, val := range o {
			path := prefix + name
			want, ok := keys[path]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: not in docs/json.md", path))
				continue
			}
			if got := jsonType(val); !typeFits(got, want.typ) {
				errs = append(errs, fmt.Sprintf("%s: %s, docs/json.md says %s", path, got, want.typ))
			}
			if arr, ok := val.([]any); ok {
				for _, e := range arr {
					if eo, ok := e.(map[string]any); ok {
						walk(path+"[].", eo)
					}
				}
			}
			if eo, ok := val.(map[string]any); ok {
				walk(path+".", eo)
			}
		}
	}
	walk("", obj)
	sort.Strings(errs)
	return errs
}

// typeFits says whether a value of JSON type got fits the documented
// type want ("integer", "number", "integer or string").
func typeFits(got, want string) bool {
	for _, w := range strings.Split(want, " or ") {
		if got == w || w == "number" && got == "integer" {
			return true
		}
	}
	return false
}

func jsonType(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case json.Number:
		if f, err := v.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(string(v), ".eE") {
			return "integer"
		}
		return "number"
	}
	return "null"
}

// checkJSONLines checks every line of out against section, and that there
// is at least one; it returns the keys seen.
func checkJSONLines(t *testing.T, c jsonContract, section, what, out string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		n++
		for _, e := range c.check(section, l) {
			t.Errorf("%s: %s\n\t%s", what, e, l)
		}
		var obj map[string]any
		_ = json.Unmarshal([]byte(l), &obj)
		for k := range obj {
			seen[k] = true
		}
	}
	if n == 0 {
		t.Errorf("%s: no JSON line", what)
	}
	return seen
}

// TestJSONContract: build, checksum and read (no privileges needed) give
// lines that keep docs/json.md's contract, over packets that exercise the
// optional keys: fragments, a decode error, a quote's checksums, -0.
func TestJSONContract(t *testing.T) {
	c := readJSONContract(t)
	for _, s := range []string{"build", "read", "checksum", "send", "probe", "trace", "listen"} {
		if c[s] == nil {
			t.Errorf("docs/json.md has no table for %s", s)
		}
	}
	seen := map[string]bool{}
	for _, args := range [][]string{
		{"build", "tcp", "--dst", "198.18.1.1", "--dport", "9999", "--flags", "S", "--tcp-opt", "mss=1460,sackok,ts=1:0,nop,wscale=7"},
		{"build", "udp", "--size", "4000", "--mtu", "1500"},
		{"build", "udp", "--data", "Hello", "--udp-len", "100"},
		{"build", "icmp", "--type", "3", "--code", "3", "--quote", "udp --dport 9999 --data Hello"},
		{"build", "udp", "--dst", "2001:2:0:1::1", "--data", "Hello", "--ether", "--vlan", "5"},
		{"build", "arp"},
		{"build", "udp", "--csum", "0xffff", "--data", "x"},
	} {
		out, errs, code := runCLI(t, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, errs)
		}
		for k := range checkJSONLines(t, c, "build", strings.Join(args, " "), out) {
			seen[k] = true
		}
	}
	for _, k := range []string{"fragment", "error"} {
		if !seen[k] {
			t.Errorf("no build line had %q: the test no longer covers it", k)
		}
	}
	for _, args := range [][]string{{"checksum", "Computer"}, {"checksum", "--dport", "8192", "Hello"}, {"checksum", "--tcp", "--dport", "80", "GET"}} {
		out, errs, code := runCLI(t, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", args, code, errs)
		}
		checkJSONLines(t, c, "checksum", strings.Join(args, " "), out)
	}
	// read: a capture build writes, and the corpus's pcapng with direction
	// flags and a cooked capture when the corpus is there.
	pcapFile := filepath.Join(t.TempDir(), "c.pcap")
	if _, errs, code := runCLI(t, "build", "udp", "--size", "4000", "--mtu", "1500", "--pcap", pcapFile); code != 0 {
		t.Fatal(errs)
	}
	files := []string{pcapFile}
	// Every 20th capture of tcpdump's test suite, when the corpus is there:
	// pcapng with direction flags, cooked links, truncated packets.
	corpus, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "tcpdump", "*"))
	sort.Strings(corpus)
	for i := 0; i < len(corpus); i += 20 {
		files = append(files, corpus[i])
	}
	read := 0
	for _, f := range files {
		out, errs, code := runCLI(t, "read", "--json", f)
		if code != 0 || strings.TrimSpace(out) == "" {
			if f == pcapFile {
				t.Fatalf("read %s: exit %d, %s", f, code, errs)
			}
			continue // a link type read refuses, in one line: not JSON's business
		}
		read++
		for k := range checkJSONLines(t, c, "read", "read "+filepath.Base(f), out) {
			seen["read:"+k] = true
		}
	}
	t.Logf("read --json checked on %d captures; keys seen: %v", read, seen)
}

// The checker itself: an unlisted key, a wrong type and a missing key are
// each caught.
func TestJSONContractChecker(t *testing.T) {
	c := jsonContract{"x": {"a": {"integer", true}, "b": {"array", false}, "b[].c": {"string", true}, "r": {"number", true}, "v": {"integer or string", false}}}
	for line, want := range map[string]string{
		`{"a":1,"r":0.5}`:                "",
		`{"a":1,"r":2}`:                  "",
		`{"a":1.5,"r":1}`:                "a: number, docs/json.md says integer",
		`{"r":1}`:                        "a: marked always, missing",
		`{"a":1,"r":1,"z":true}`:         "z: not in docs/json.md",
		`{"a":1,"r":1,"b":[{"d":"x"}]}`:  "b[].c: marked always, missing",
		`{"a":1,"r":1,"b":[{"c":3}]}`:    "b[].c: integer, docs/json.md says string",
		`{"a":1,"r":1} {"a":1,"r":1}`:    "more than one JSON value on a line",
		`{"a":1,"r":1,"v":3}`:            "",
		`{"a":1,"r":1,"v":"198.18.1.3"}`: "",
		`{"a":1,"r":1,"v":true}`:         "v: boolean, docs/json.md says integer or string",
	} {
		got := strings.Join(c.check("x", line), "; ")
		if !strings.Contains(got, want) || want == "" && got != "" {
			t.Errorf("check(%s) = %q, want %q", line, got, want)
		}
	}
}

// An address field's value is the address, as a string: not 0, and not
// the 32-bit number nobody reads.
func TestJSONAddressesAreStrings(t *testing.T) {
	out, _, code := runCLI(t, "build", "udp", "--src", "198.18.1.3", "--dst", "198.18.1.1", "--ether", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		`"name":"Source Address","offset":26,"bit":96,"width":32,"value":"198.18.1.3","text":"198.18.1.3"`,
		`"name":"Destination Address","offset":30,"bit":128,"width":32,"value":"198.18.1.1","text":"198.18.1.1"`,
		`"name":"Protocol","offset":23,"bit":72,"width":8,"value":17,`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	out, _, _ = runCLI(t, "build", "udp", "--dst", "2001:2::1", "--json")
	if !strings.Contains(out, `"name":"Destination Address","offset":24,"bit":192,"width":128,"value":"2001:2::1","text":"2001:2::1"`) {
		t.Errorf("IPv6 destination not a string value:\n%s", out)
	}
}

// The reason names docs/json.md gives for trace's probes are the names
// trace writes, and one ICMP reason has one name for both families
// (icmp-ttl-exceeded was ICMPv6's too, but Packet Too Big was
// "icmpv6-packet-too-big").
func TestJSONReasonNames(t *testing.T) {
	names := map[string]bool{}
	for r := listen.Reason(0); r <= listen.SplitHandshakeSyn; r++ {
		n := r.String()
		names[n] = true
		if strings.HasPrefix(n, "icmpv6-") {
			t.Errorf("reason %q: ICMP and ICMPv6 share the icmp- names", n)
		}
	}
	if got := listen.ICMPPacketTooBig.String(); got != "icmp-packet-too-big" {
		t.Errorf("ICMPv6 Packet Too Big is %q, want icmp-packet-too-big", got)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := ""
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "| `probes[].reason` |") {
			row = l
		}
	}
	listed := regexp.MustCompile("`([a-z0-9-]+)`").FindAllStringSubmatch(row, -1)
	if len(listed) < 5 {
		t.Fatalf("docs/json.md's probes[].reason row lists %d names: %q", len(listed), row)
	}
	for _, m := range listed {
		if !names[m[1]] {
			t.Errorf("docs/json.md lists trace reason %q, which trace never writes", m[1])
		}
	}
}
