package build

// ArgNames returns the arguments a built-in layer or built-in function
// takes, in positional order, with the other names each is accepted under
// (PyTorch's): what a translator of the language to another (nnc export)
// needs to bind a call's arguments as the front end does. ok is false for
// a name that is neither; raw built-ins, which bind their own arguments,
// return no names.
func ArgNames(name string) (names []string, aliases map[string]string, ok bool) {
	var specs []argSpec
	if lk, found := layerTable[name]; found {
		specs = lk.args
	} else if bk, found := builtinTable[name]; found {
		specs = bk.args
	} else {
		return nil, nil, false
	}
	aliases = map[string]string{}
	for _, s := range specs {
		names = append(names, s.name)
		for _, a := range s.aliases {
			aliases[a] = s.name
		}
	}
	return names, aliases, true
}

// IsLayer reports whether name is a built-in layer (Linear, Conv2d, ...).
func IsLayer(name string) bool { _, ok := layerTable[name]; return ok }
