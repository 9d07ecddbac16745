package train

import (
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/ir"
)

// Shape is what the data sources must agree with: the element counts of
// one row of the model's input and output.
type Shape struct {
	features int // elements of one input row
	outputs  int // elements of one output row
	vocab    int // the ids of the model's first embedding, or 0
}

// ShapeOf returns the row sizes of p's entry model.
func ShapeOf(p *ir.Program) Shape {
	in := p.TrainGraph.Sources(ir.OpInput)[0]
	out := p.Forward.Output("out")
	sh := Shape{features: in.Type.Shape.Elems(), outputs: out.Type.Shape.Elems()}
	for _, v := range p.Forward.Values {
		if v.Op == ir.OpEmbedding {
			sh.vocab = v.Args[1].Type.Shape[0]
			break
		}
	}
	return sh
}

// Load reads a data source for a model whose rows have sh's sizes, paths
// relative to dir. The data package does the loading and the checks; Load
// tells it the model's row sizes and the loss.
func Load(src *ir.DataSource, dir string, loss ir.Loss, sh Shape) (*data.Dataset, error) {
	s := data.Source{
		Kind: src.Kind, Samples: src.Samples, Classes: src.Classes, Seed: src.Seed,
		Path: src.Path, Target: src.Target, TargetIndex: src.TargetIndex, Header: src.Header,
		Split: src.Split, Images: src.Images, Labels: src.Labels, Vocab: sh.vocab,
	}
	return data.Open(s, dir, sh.features, sh.outputs, loss)
}
