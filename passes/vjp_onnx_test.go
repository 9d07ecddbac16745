package passes

import "strings"

// onnxCases checks the VJP rules of the ONNX op set (issue 13) against
// finite differences: each element-wise op on a parameter and on a lifted
// batch, the broadcasting ones with a broadcast operand, the reductions
// with and without keepdims (the batch dimension reduced too), and the
// data movement that differentiates through Slice and Pad.
func onnxCases() []vjpCase {
	var cs []vjpCase
	for _, u := range []struct {
		op, attrs string
		pos       bool
	}{
		{"Exp", "", false}, {"Log", "", true}, {"Sqrt", "", true}, {"Abs", "", false}, {"Erf", "", false},
		{"Softplus", "", false}, {"Softsign", "", false}, {"LeakyRelu", " {alpha=0.1}", false}, {"Elu", " {alpha=0.7}", false},
		{"Selu", "", false}, {"HardSigmoid", " {alpha=0.4,beta=0.3}", false}, {"HardSwish", "", false},
		{"Clip", " {min=-0.5,max=0.5}", false}, {"Reciprocal", "", true}, {"Floor", "", false}, {"Ceil", "", false},
	} {
		var pos []string
		if u.pos {
			pos = []string{"a"}
		}
		cs = append(cs, vjpCase{name: u.op + "/param", pos: pos, emits: []string{"UnaryGrad"}, body: `
  v0 = Param <f64[4,3]> (a)
  v1 = ` + u.op + ` <f64[4,3]> v0` + u.attrs + `
  v2 = Target <f64[4,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`})
		if !u.pos {
			cs = append(cs, vjpCase{name: u.op + "/N", emits: []string{"UnaryGrad"}, body: lift3 + `
  v3 = ` + u.op + ` <f64[N,3]> v2` + u.attrs + `
  v4 = Target <f64[N,3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`})
		}
	}
	two := `
  v0 = Param <f64[4,3]> (a)
  v1 = Param <f64[3]> (b)
  v2 = OP <f64[4,3]> v0 v1
  v3 = Target <f64[4,3]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`
	cs = append(cs,
		vjpCase{name: "Pow/broadcast", pos: []string{"a"}, body: strings.ReplaceAll(two, "OP", "Pow"), emits: []string{"SumTo"}},
		vjpCase{name: "PRelu/slope", body: strings.ReplaceAll(two, "OP", "PRelu"), emits: []string{"SumTo", "Where"}},
		vjpCase{name: "Where/broadcast", body: `
  v0 = Param <f64[4,3]> (a)
  v1 = Param <f64[3]> (b)
  v2 = Const <f64[]> {value=0.5}
  v3 = Target <f64[4,3]> (t)
  v4 = Greater <bool[4,3]> v3 v2
  v5 = Where <f64[4,3]> v4 v0 v1
  v6 = MSELoss <f64[]> v5 v3 (loss)
  return loss=v6`, prob: []string{"t"}},
		vjpCase{name: "ReduceSum/keepdims", emits: []string{"ReduceGrad"}, body: `
  v0 = Param <f64[2,3,4]> (a)
  v1 = ReduceSum <f64[2,1,4]> v0 {axes=[1]}
  v2 = Target <f64[2,1,4]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "ReduceMean/two_axes", emits: []string{"ReduceGrad"}, body: `
  v0 = Param <f64[2,3,4]> (a)
  v1 = ReduceMean <f64[3]> v0 {axes=[0,-1],keepdims=0}
  v2 = Target <f64[3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "ReduceMean/batch", emits: []string{"ReduceGrad"}, body: lift3 + `
  v3 = ReduceMean <f64[3]> v2 {axes=[0],keepdims=0}
  v4 = Target <f64[3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		vjpCase{name: "ReduceSum/all_N", emits: []string{"ReduceGrad"}, body: lift3 + `
  v3 = ReduceSum <f64[1,1]> v2
  v4 = Target <f64[1,1]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		vjpCase{name: "Concat/N", emits: []string{"Slice"}, body: lift3 + `
  v3 = Param <f64[5,2]> (b)
  v4 = MatMul <f64[N,2]> v0 v3
  v5 = Concat <f64[N,8]> v2 v4 v2 {axis=1}
  v6 = Target <f64[N,8]> (t)
  v7 = MSELoss <f64[]> v5 v6 (loss)
  return loss=v7`},
		vjpCase{name: "Slice/N", emits: []string{"Pad"}, body: lift3 + `
  v3 = Slice <f64[N,2]> v2 {starts=[-2],ends=[100],axes=[1]}
  v4 = Target <f64[N,2]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		vjpCase{name: "Slice/steps", emits: []string{"SliceGrad"}, body: `
  v0 = Param <f64[4,5]> (a)
  v1 = Slice <f64[2,3]> v0 {starts=[-1,0],ends=[0,5],steps=[-2,2]}
  v2 = Target <f64[2,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "Max/broadcast", body: strings.ReplaceAll(two, "OP", "Max"), emits: []string{"Where", "SumTo"}},
		vjpCase{name: "Min/broadcast", body: strings.ReplaceAll(two, "OP", "Min"), emits: []string{"Where", "SumTo"}},
		vjpCase{name: "ReduceMax/keepdims", emits: []string{"ReduceMaxGrad"}, body: `
  v0 = Param <f64[2,3,4]> (a)
  v1 = ReduceMax <f64[2,1,4]> v0 {axes=[1]}
  v2 = Target <f64[2,1,4]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "ReduceMax/batch", emits: []string{"ReduceMaxGrad"}, body: lift3 + `
  v3 = ReduceMax <f64[3]> v2 {axes=[0],keepdims=0}
  v4 = Target <f64[3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		vjpCase{name: "Gather/rows", emits: []string{"GatherGrad"}, body: `
  v0 = Param <f64[5,5]> (a)
  v1 = Arange <i64[4]> {n=4}
  v2 = Gather <f64[5,4]> v0 v1 {axis=1}
  v3 = Gather <f64[4,4]> v2 v1 {axis=-2}
  v4 = Target <f64[4,4]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		vjpCase{name: "Tile/N", emits: []string{"TileGrad"}, body: lift3 + `
  v3 = Tile <f64[N,9]> v2 {repeats=[1,3]}
  v4 = Target <f64[N,9]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
		vjpCase{name: "Conv/1d_N", emits: []string{"ConvGradInput", "ConvGradWeight", "ChannelSum"}, body: lift34 + `
  v4 = Param <f64[2,3,2]> (w)
  v5 = Param <f64[2]> (b)
  v6 = Conv <f64[N,2,3]> v3 v4 v5 {strides=[2],pads=[1,2],dilations=[1]}
  v7 = Target <f64[N,2,3]> (t)
  v8 = MSELoss <f64[]> v6 v7 (loss)
  return loss=v8`},
		vjpCase{name: "Conv/2d_groups", emits: []string{"ConvGradInput", "ConvGradWeight"}, body: `
  v0 = Param <f64[2,4,5,4]> (x)
  v1 = Param <f64[6,2,3,2]> (w)
  v2 = Conv <f64[2,6,2,4]> v0 v1 {pads=[1,0,0,1],dilations=[2,1],group=2}
  v3 = Target <f64[2,6,2,4]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
		vjpCase{name: "Conv/3d_depthwise", emits: []string{"ConvGradInput", "ConvGradWeight"}, body: `
  v0 = Param <f64[1,2,3,4,3]> (x)
  v1 = Param <f64[4,1,2,2,2]> (w)
  v2 = Conv <f64[1,4,2,2,2]> v0 v1 {strides=[1,2,1],pads=[0,0,0,0,0,0],group=2}
  v3 = Target <f64[1,4,2,2,2]> (t)
  v4 = MSELoss <f64[]> v2 v3 (loss)
  return loss=v4`},
		vjpCase{name: "MaxPool/2d_pads", emits: []string{"MaxPoolGrad"}, body: `
  v0 = Param <f64[2,2,5,5]> (x)
  v1 = MaxPool <f64[2,2,3,3]> v0 {kernel_shape=[3,3],strides=[2,2],pads=[1,1,1,1]}
  v2 = Target <f64[2,2,3,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "AveragePool/exclude_pad", emits: []string{"AveragePoolGrad"}, body: `
  v0 = Param <f64[2,2,5]> (x)
  v1 = AveragePool <f64[2,2,3]> v0 {kernel_shape=[3],strides=[2],pads=[1,1]}
  v2 = Target <f64[2,2,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "AveragePool/include_pad_3d", emits: []string{"AveragePoolGrad"}, body: `
  v0 = Param <f64[1,2,3,3,2]> (x)
  v1 = AveragePool <f64[1,2,2,2,3]> v0 {kernel_shape=[2,2,2],pads=[0,0,1,0,0,1],count_include_pad=1}
  v2 = Target <f64[1,2,2,2,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "Pad/constant", emits: []string{"Slice"}, body: `
  v0 = Param <f64[3,4]> (a)
  v1 = Pad <f64[4,6]> v0 {pads=[1,0,0,2],value=0.5}
  v2 = Target <f64[4,6]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "Expand/rows", emits: []string{"SumTo"}, body: `
  v0 = Param <f64[1,3]> (a)
  v1 = Expand <f64[4,3]> v0
  v2 = Target <f64[4,3]> (t)
  v3 = MSELoss <f64[]> v1 v2 (loss)
  return loss=v3`},
		vjpCase{name: "Cast/same", body: lift3 + `
  v3 = Cast <f64[N,3]> v2 {to="f64"}
  v4 = Target <f64[N,3]> (t)
  v5 = MSELoss <f64[]> v3 v4 (loss)
  return loss=v5`},
	)
	return cs
}
