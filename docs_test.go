package nnc_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestMarkdownLinks checks every relative link and image of every Markdown
// file in the repository: the file it names must exist inside the
// repository (a link out of it, such as ../shared/..., is broken in every
// clone even when it resolves on the machine that wrote it), and an anchor
// must name a heading of the target.
func TestMarkdownLinks(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Markdown files found")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, p := range brokenLinks(root, filepath.ToSlash(rel), string(src), readRepoFile(root)) {
			t.Error(p)
		}
	}
}

// TestBrokenLinks holds the checker to the kinds of broken link it must
// find and the links it must leave alone.
func TestBrokenLinks(t *testing.T) {
	repo := map[string]string{
		"README.md":        "# nnc\n\n## A first model\n\nsee [the reference](docs/language.md#layers).\n",
		"docs/language.md": "# The language\n\n## Layers\n\n### `Conv2d(in, out)`: convolutions!\n\n## Layers\n",
		"docs/seed.png":    "",
	}
	read := func(p string) (string, bool) {
		s, ok := repo[p]
		return s, ok
	}
	cases := []struct {
		name, file, src string
		broken          int
	}{
		{"fine", "README.md", "[a](docs/language.md) ![b](docs/seed.png) [c](docs/language.md#layers) [d](#a-first-model) [e](https://example.com/x.md) [f](mailto:a@b)", 0},
		{"fine from a folder", "docs/language.md", "[a](../README.md) [b](seed.png) [c](#conv2din-out-convolutions) [d](#layers-1)", 0},
		{"missing file", "README.md", "see [the reference](docs/lang.md).", 1},
		{"missing image", "README.md", "![curves](docs/curves.png)", 1},
		{"out of the repository", "README.md", "[LANGUAGE.md](../shared/design/LANGUAGE.md)", 1},
		{"missing anchor", "README.md", "[x](docs/language.md#optimizers) [y](#training)", 2},
		{"reference definition", "README.md", "[ref]: docs/missing.md\n", 1},
		{"in code", "README.md", "`[a](nothere.md)`\n\n```\n[b](nothere.md)\n```\n", 0},
		{"link text in code", "README.md", "[`docs/nothere.md`](docs/nothere.md)", 1},
	}
	for _, c := range cases {
		got := brokenLinks("/repo", c.file, c.src, read)
		if len(got) != c.broken {
			t.Errorf("%s: %d broken links %q, want %d", c.name, len(got), got, c.broken)
		}
	}
}

// readRepoFile returns a function reading files of the repository at root
// by their slash-separated path relative to it.
func readRepoFile(root string) func(string) (string, bool) {
	return func(p string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return "", false
		}
		return string(b), true
	}
}

var (
	inlineLink = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?`)
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// brokenLinks returns a message for each broken relative link of the
// Markdown src, the file at slash-separated path file of the repository;
// read reads a repository file by such a path. Links in code are not
// links.
func brokenLinks(root, file, src string, read func(string) (string, bool)) []string {
	var out []string
	for _, l := range markdownLinks(src) {
		target := l.target
		if target == "" || scheme.MatchString(target) || strings.HasPrefix(target, "//") {
			continue
		}
		where := file + ":" + strconv.Itoa(l.line)
		p, anchor, _ := strings.Cut(target, "#")
		if p == "" {
			p = file
		} else {
			p = path.Join(path.Dir(file), p)
		}
		if p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
			out = append(out, where+": link "+target+" leads out of the repository")
			continue
		}
		body, ok := read(p)
		if !ok {
			if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err == nil && fi.IsDir() {
				continue // a folder
			}
			out = append(out, where+": link "+target+": "+p+" does not exist")
			continue
		}
		if anchor != "" && strings.HasSuffix(p, ".md") && !headingAnchors(body)[anchor] {
			out = append(out, where+": link "+target+": "+p+" has no heading #"+anchor)
		}
	}
	return out
}

type mdLink struct {
	line   int
	target string
}

// markdownLinks returns the targets of the inline links, images and
// reference definitions of src, outside fenced code blocks and code spans.
func markdownLinks(src string) []mdLink {
	var links []mdLink
	fence := ""
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		if m := refDef.FindStringSubmatch(line); m != nil {
			links = append(links, mdLink{i + 1, m[1]})
			continue
		}
		spans := codeSpans(line)
		for _, m := range inlineLink.FindAllStringSubmatchIndex(line, -1) {
			if inSpan(spans, m[0]) {
				continue
			}
			links = append(links, mdLink{i + 1, line[m[4]:m[5]]})
		}
	}
	return links
}

// codeSpans returns the byte ranges of the code spans of a line: a run of
// backticks up to the next run of the same length.
func codeSpans(line string) [][2]int {
	var spans [][2]int
	for i := 0; i < len(line); {
		if line[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(line) && line[i+n] == '`' {
			n++
		}
		tick := strings.Repeat("`", n)
		end := -1
		for j := i + n; j < len(line); {
			k := strings.Index(line[j:], tick)
			if k < 0 {
				break
			}
			k += j
			m := 0
			for k+m < len(line) && line[k+m] == '`' {
				m++
			}
			if m == n {
				end = k + n
				break
			}
			j = k + m
		}
		if end < 0 {
			i += n
			continue
		}
		spans = append(spans, [2]int{i, end})
		i = end
	}
	return spans
}

func inSpan(spans [][2]int, at int) bool {
	for _, s := range spans {
		if at >= s[0] && at < s[1] {
			return true
		}
	}
	return false
}

// headingAnchors returns the anchors GitHub gives the ATX headings of a
// Markdown file: lower case, punctuation dropped, spaces as hyphens, and
// -1, -2, ... after repeats.
func headingAnchors(src string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		text, ok := strings.CutPrefix(line, "#")
		if !ok {
			continue
		}
		text = strings.TrimLeft(text, "#")
		if text != "" && text[0] != ' ' {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}
