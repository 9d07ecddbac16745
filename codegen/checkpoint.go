package codegen

import (
	"bytes"
	"fmt"
	"strings"
)

// checkpointFuncs writes Encode, Decode, Save and Load, and with the
// training step State, RNGState and SetRNGState: methods over the
// model's nncrt.Store, which holds the code they share with every other
// generated model. Those that let the caller change the weights first
// mark the values computed from the weights alone as stale.
func (g *gen) checkpointFuncs(b *bytes.Buffer) {
	stale := g.markStale()
	b.WriteString(strings.NewReplacer("MARKSTALE\n", stale).Replace(checkpointTemplate))
	if g.opt.Train {
		fmt.Fprintf(b, `// State returns the model's persistent tensors by name, parameters,
// buffers and optimizer state: the slices themselves, not copies, with
// their shapes.
func (m *Model) State() (f map[string][]%s, i64 map[string][]int64, shapes map[string][]int) {
	%s// the caller may write them
	return m.st.State()
}

// RNGState returns the state of the generator of dropout's masks, which a
// checkpoint of an interrupted run saves.
func (m *Model) RNGState() []byte { return m.st.RNGState() }

// SetRNGState restores a state RNGState returned.
func (m *Model) SetRNGState(s []byte) error { return m.st.SetRNGState(s) }

`, g.elem, stale)
	}
}

const checkpointTemplate = `// Encode returns the model's state_dict (parameters and buffers, under
// PyTorch's names) in the safetensors format, which PyTorch's
// safetensors.torch.load_file reads.
func (m *Model) Encode() []byte { return m.st.Encode() }

// Decode replaces the parameters and buffers by those of a safetensors
// file, which must hold exactly the model's tensors with their shapes and
// dtypes; a tensor that is missing, extra or mis-shaped is an error naming
// it. Optimizer state (optimizer.NAME...), which checkpoints nnc saves
// hold, is loaded when the model keeps it and ignored otherwise.
func (m *Model) Decode(file []byte) error {
	MARKSTALE
	return m.st.Decode(file)
}

// Save writes the state_dict to path in the safetensors format, through a
// temporary file and a rename, so that path is never half-written.
func (m *Model) Save(path string) error { return m.st.Save(path) }

// Load replaces the parameters and buffers by those of the safetensors
// file at path, as Decode does.
func (m *Model) Load(path string) error {
	MARKSTALE
	return m.st.Load(path)
}

`
