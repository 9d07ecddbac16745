package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEOutputs runs the shell sessions that README.md and docs/*.md
// show and compares what nnc prints with what they show, so that the
// documentation cannot drift from the program.
//
// A session is a fenced code block whose first line starts with "$ ". Each
// "$ " line is a command, and the lines up to the next one are its output
// (stdout and stderr together); a line "..." stands for any number of
// lines. Commands run in a copy of the repository's examples/ and docs/
// folders, starting at its root: `nnc ARGS` and `go run .../cmd/nnc ARGS`
// run Main in this process, optionally piped into `head -N`; `cd DIR`
// changes folder; any other command runs under sh. A session that cannot
// run here (one that trains on MNIST for minutes, say) is preceded by a
// line `<!-- not checked: WHY -->`.
func TestREADMEOutputs(t *testing.T) {
	docs, _ := filepath.Glob("../../docs/*.md")
	files := append([]string{"../../README.md"}, docs...)
	sandbox := t.TempDir()
	for _, dir := range []string{"examples", "docs"} {
		if err := os.CopyFS(filepath.Join(sandbox, dir), os.DirFS(filepath.Join("../..", dir))); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(filepath.ToSlash(file), "../../")
		for _, s := range sessions(string(src)) {
			if s.skip != "" {
				t.Logf("%s:%d: not checked: %s", name, s.line, s.skip)
				continue
			}
			checked++
			where := fmt.Sprintf("%s:%d", name, s.line)
			t.Run(where, func(t *testing.T) { runSession(t, where, sandbox, s) })
		}
	}
	if checked == 0 {
		t.Fatal("no session checked: README.md shows none?")
	}
}

// session is a shell session shown in a Markdown file.
type session struct {
	line  int    // of the fence
	skip  string // why it is not checked, or ""
	lines []string
}

var notChecked = regexp.MustCompile(`^<!--\s*not checked:\s*(.*?)\s*-->$`)

// sessions returns the sessions of a Markdown file.
func sessions(src string) []session {
	var out []session
	lines := strings.Split(src, "\n")
	prev := "" // the last non-blank line before a fence
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			if fence != "" {
				prev = fence
			}
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if len(body) > 0 && strings.HasPrefix(body[0], "$ ") {
			s := session{line: start + 1, lines: body}
			if m := notChecked.FindStringSubmatch(prev); m != nil {
				s.skip = m[1]
			}
			out = append(out, s)
		}
		prev = ""
	}
	return out
}

var (
	nncCommand = regexp.MustCompile(`^(?:nnc|go run \S*cmd/nnc)(?:\s+(.*?))?(?:\s*\|\s*head -(\d+))?$`)
	cdCommand  = regexp.MustCompile(`^cd\s+(\S+)$`)
)

// runSession runs the commands of s in the sandbox and compares outputs.
func runSession(t *testing.T, where, sandbox string, s session) {
	dir := sandbox
	for i := 0; i < len(s.lines); {
		cmd := strings.TrimPrefix(s.lines[i], "$ ")
		at := fmt.Sprintf("%s: $ %s", where, cmd)
		i++
		var want []string
		for ; i < len(s.lines) && !strings.HasPrefix(s.lines[i], "$ "); i++ {
			want = append(want, s.lines[i])
		}
		var got string
		switch m := nncCommand.FindStringSubmatch(cmd); {
		case m != nil:
			got = runNNC(t, at, dir, strings.Fields(m[1]), m[2])
		case cdCommand.MatchString(cmd):
			dir = filepath.Join(dir, cdCommand.FindStringSubmatch(cmd)[1])
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Fatalf("%s: no such folder", at)
			}
		default:
			if _, err := exec.LookPath("sh"); err != nil {
				t.Skipf("%s: no sh to run it", at)
			}
			c := exec.Command("sh", "-c", cmd)
			c.Dir = dir
			out, err := c.CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v\n%s", at, err, out)
			}
			got = string(out)
		}
		if !matchLines(want, splitLines(got)) {
			t.Errorf("%s\nthe documentation shows:\n%s\nnnc prints:\n%s", at, strings.Join(want, "\n"), got)
		}
	}
}

// runNNC runs nnc with args in dir and returns what it printed, cut to
// head lines when head is not "".
func runNNC(t *testing.T, at, dir string, args []string, head string) string {
	t.Chdir(dir)
	var out bytes.Buffer
	Main(args, &out, &out)
	got := out.String()
	if head != "" {
		n, _ := strconv.Atoi(head)
		lines := splitLines(got)
		if len(lines) > n {
			lines = lines[:n]
		}
		got = strings.Join(lines, "\n") + "\n"
	}
	return got
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// matchLines reports whether got matches want, where a line "..." of want
// (indented or not) matches any number of lines.
func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if strings.TrimSpace(want[0]) == "..." {
		for k := 0; k <= len(got); k++ {
			if matchLines(want[1:], got[k:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && got[0] == want[0] && matchLines(want[1:], got[1:])
}

// TestREADMEMatcher holds the session reader and the matcher to what the
// documentation relies on.
func TestREADMEMatcher(t *testing.T) {
	for _, c := range []struct {
		want, got string
		ok        bool
	}{
		{"a\nb", "a\nb", true},
		{"a\nb", "a\nc", false},
		{"a\n...\nz", "a\nb\nc\nz", true},
		{"a\n...\nz", "a\nz", true},
		{"a\n...\nz", "a\nb\nc", false},
		{"a\n  ...\n  z", "a\n  b\n  z", true},
		{"a", "a\nb", false},
		{"", "", true},
		{"", "a", false},
	} {
		if got := matchLines(splitLines(c.want), splitLines(c.got)); got != c.ok {
			t.Errorf("matchLines(%q, %q) = %v, want %v", c.want, c.got, got, c.ok)
		}
	}
	md := "text\n\n```\n$ nnc run x.nn\nout\n```\n\n<!-- not checked: slow -->\n\n```\n$ nnc run slow.nn\n```\n\n```\nnot a session\n```\n"
	ss := sessions(md)
	if len(ss) != 2 || ss[0].skip != "" || ss[0].line != 3 || len(ss[0].lines) != 2 || ss[1].skip != "slow" {
		t.Errorf("sessions: %+v", ss)
	}
	for cmd, want := range map[string][]string{
		"nnc run examples/seed.nn":                   {"run examples/seed.nn", ""},
		"go run ./cmd/nnc run a.nn --json | head -1": {"run a.nn --json", "1"},
		"go run ../../cmd/nnc predict a.nn":          {"predict a.nn", ""},
		"nncx run":                                   nil,
		"cut -d, -f1-4 iris.csv > f.csv":             nil,
	} {
		m := nncCommand.FindStringSubmatch(cmd)
		if (m == nil) != (want == nil) || m != nil && (m[1] != want[0] || m[2] != want[1]) {
			t.Errorf("%q: matched %q, want %q", cmd, m, want)
		}
	}
}
