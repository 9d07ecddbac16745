package codegen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// pruneImports removes from src, a generated file, the named imports that
// it does not use: which packages the code calls depends on the model
// (math on a training step, for one), and listing every one always would
// not compile. It returns src unchanged when it does not parse: the
// caller's go/format reports why.
func pruneImports(src []byte) []byte {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return src
	}
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	// Cut the lines of unused imports out of the text, last first; the
	// caller's go/format tidies the rest.
	out := src
	for _, d := range slices.Backward(f.Decls) {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, s := range slices.Backward(gd.Specs) {
			is := s.(*ast.ImportSpec)
			path, _ := strconv.Unquote(is.Path.Value)
			name := path[strings.LastIndexByte(path, '/')+1:]
			if is.Name != nil {
				name = is.Name.Name
			} else if path == "math/rand/v2" {
				name = "rand"
			}
			if name == "_" || used[name] {
				continue
			}
			begin, end := fset.Position(is.Pos()).Offset, fset.Position(is.End()).Offset
			if end < len(out) && out[end] == '\n' {
				end++
			}
			out = append(out[:begin:begin], out[end:]...)
		}
	}
	return out
}
