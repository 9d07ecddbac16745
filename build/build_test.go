package build_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nnc-go/nnc/build"
	"github.com/nnc-go/nnc/dsl"
	"github.com/nnc-go/nnc/ir"
)

func buildSrc(t *testing.T, src string) (*ir.Program, error) {
	t.Helper()
	f, err := dsl.Parse("m.nn", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return build.Build(f, build.Options{})
}

// model wraps a forward body: layers, the input's type and statements.
func model(layers, input, body string) string {
	return "model M {\n" + layers + "\n    forward(x: " + input + ") {\n" + body + "\n    }\n}\n"
}

// TestShapeErrorsDecorated: each refusal of an op's shape rule reaches the
// user with the expression, the layer and the shapes in the user's words.
func TestShapeErrorsDecorated(t *testing.T) {
	tests := []struct {
		name, layers, input, body, want string
	}{
		{"broadcast", "", "f32[N, 4]", "return x + sum(x, 1)",
			"m.nn:4:18: x + sum(x, 1): cannot broadcast x [N, 4] with sum(x, 1) [N]"},
		{"matmul rank", "", "f32[N, 4]", "return x @ sum(x, 1)",
			"m.nn:4:18: x @ sum(x, 1): both operands need 2 dimensions or more: x is [N, 4], sum(x, 1) is [N]"},
		{"matmul batch dims", "", "f32[N, 2, 5]", "return x @ reshape(sum(x, 0), 2, 5, 1)",
			"m.nn:4:18: x @ reshape(sum(x, 0), 2, 5, 1): the batch dimensions differ: x is [N, 2, 5], reshape(sum(x, 0), 2, 5, 1) is [2, 5, 1]"},
		{"matmul inner", "", "f32[B, 4]", "return matmul(x, x)",
			"m.nn:4:16: matmul(x, x): the inner dimensions differ: x is [B, 4], x is [B, 4]"},
		{"softmax dim", "", "f32[N, 4]", "return softmax(x, dim = 2)",
			"m.nn:4:33: softmax(x, dim = 2): dim 2 is out of range for x [N, 4]"},
		{"sum dim kind", "", "f32[N, 4]", "return sum(x, 1.5)",
			"m.nn:4:23: sum(x, 1.5): dim must be an integer, got 1.5"},
		{"mean over batch", "", "f32[N, 4]", "return mean(x, -2)",
			"m.nn:4:16: mean(x, -2): a mean over the batch dimension is not allowed: its size changes with the last batch"},
		{"flatten rank", "", "f32[N, 4]", "return flatten(sum(x, 1))",
			"m.nn:4:16: flatten(sum(x, 1)): flatten keeps dimension 0 and needs 2 dimensions or more, sum(x, 1) is [N]"},
		{"reshape", "", "f32[N, 4]", "return reshape(x, N, 3)",
			"m.nn:4:16: reshape(x, N, 3): cannot reshape x [N, 4] (4 elements per sample) into [N, 3]"},
		{"linear", "    fc = Linear(3, 2)", "f32[N, 4]", "return fc(x)",
			"m.nn:4:16: fc(x): Linear(3, 2) expects 3 input features, x is [N, 4]\n\tm.nn:2:5: fc declared here"},
		{"linear one sample", "    fc = Linear(3, 2)", "f32[N, 4]", "return fc(sum(x, 0))",
			"m.nn:4:16: fc(sum(x, 0)): Linear(3, 2) expects 3 input features, sum(x, 0) is [4]\n\tm.nn:2:5: fc declared here"},
		{"linear scalar", "    fc = Linear(1, 2)", "f32[N, 4]", "return fc(sum(x))",
			"m.nn:4:16: fc(sum(x)): Linear(1, 2) expects 1 input features, sum(x) is []\n\tm.nn:2:5: fc declared here"},
		{"conv channels", "    c = Conv2d(1, 4, 3)", "f32[N, 3, 8, 8]", "return c(x)",
			"m.nn:4:16: c(x): Conv2d(1, 4, 3) expects [N, 1, H, W] input, x is [N, 3, 8, 8]\n\tm.nn:2:5: c declared here"},
		{"conv window", "    c = Conv2d(3, 4, 5, padding = 1)", "f32[N, 3, 2, 2]", "return c(x)",
			"m.nn:4:16: c(x): Conv2d(3, 4, 5): kernel 5 does not fit the 2x2 input with padding 1\n\tm.nn:2:5: c declared here"},
		{"pool rank", "    p = MaxPool2d(2)", "f32[N, 4]", "return p(x)",
			"m.nn:4:16: p(x): MaxPool2d(2) expects [N, C, H, W] input, x is [N, 4]\n\tm.nn:2:5: p declared here"},
		{"pool window", "    p = MaxPool2d(4)", "f32[N, 1, 3, 3]", "return p(x)",
			"m.nn:4:16: p(x): MaxPool2d(4): window 4 does not fit the 3x3 input\n\tm.nn:2:5: p declared here"},
		{"batchnorm1d rank", "    bn = BatchNorm1d(4)", "f32[N, 4, 2, 2]", "return bn(x)",
			"m.nn:4:16: bn(x): BatchNorm1d(4) expects [N, 4] input, x is [N, 4, 2, 2]\n\tm.nn:2:5: bn declared here"},
		{"batchnorm1d features", "    bn = BatchNorm1d(5)", "f32[N, 4]", "return bn(x)",
			"m.nn:4:16: bn(x): BatchNorm1d(5) expects [N, 5] input, x is [N, 4]\n\tm.nn:2:5: bn declared here"},
		{"batchnorm2d rank", "    bn = BatchNorm2d(4)", "f32[N, 4]", "return bn(x)",
			"m.nn:4:16: bn(x): BatchNorm2d(4) expects [N, 4, H, W] input, x is [N, 4]\n\tm.nn:2:5: bn declared here"},
		// Attention written out by hand (issue 14).
		{"transpose dim", "", "f32[N, 4, 2]", "return transpose(x, 1, -4)",
			"m.nn:4:32: transpose(x, 1, -4): d1 must be a dimension of x [N, 4, 2], in [-3, 3), got -4"},
		{"transpose dim kind", "", "f32[N, 4, 2]", "return transpose(x, 1.5, 2)",
			"m.nn:4:29: transpose(x, 1.5, 2): d0 must be a dimension of x [N, 4, 2], in [-3, 3), got 1.5"},
		{"transpose missing", "", "f32[N, 4, 2]", "return transpose(x, 1)",
			"m.nn:4:16: transpose: missing argument d1"},
		{"gelu approximate", "", "f32[N, 4]", `return gelu(x, approximate = "fast")`,
			`m.nn:4:38: gelu(x, approximate = "fast"): approximate must be "none" or "tanh", got "fast"`},
		{"gelu approximate kind", "", "f32[N, 4]", `return gelu(x, approximate = true)`,
			"m.nn:4:38: gelu: approximate must be a string, got true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := model(tt.layers, tt.input, "        "+tt.body)
			_, err := buildSrc(t, src)
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestBuiltinsAndLayersBuild: the same rows build valid graphs when the
// shapes fit, with dims normalized and single samples through Linear.
func TestBuiltinsAndLayersBuild(t *testing.T) {
	src := model("    fc = Linear(4, 2)\n    bn = BatchNorm1d(4)", "f32[N, 4]", `        a = softmax(bn(x), dim = -1) + log_softmax(x, 1)
        b = fc(sum(a, 0))
        c = mean(x, 1) + sum(x) + mean(sum(x, 0))
        return fc(a) * mean(b) + reshape(c, N, 1) - tanh(gelu(sigmoid(relu(-x)))) @ reshape(sum(x, 0), 4, 1)`)
	p, err := buildSrc(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(p.Forward); err != nil {
		t.Fatal(err)
	}
	text := ir.Print(p.Forward)
	for _, want := range []string{
		"Softmax <f32[N,4]> v8 {dim=1}",                                                            // dim = -1 normalized
		"Reshape <f32[1,4]> v12", "MatMul <f32[1,2]> v13 v1 {tb=true}", "Reshape <f32[2]> v15 (b)", // one sample through Linear
		"Mean <f32[N]> v0 {dim=1}", "Const <f32[]> {value=0.25}", // mean over every element of a [4]
		"BatchNorm <f32[N,4]> v0 v3 v4 v5 v6 {eps=1e-05,momentum=0.1}",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("forward graph lacks %q:\n%s", want, text)
		}
	}
	if got := p.Forward.Output("out").Type.String(); got != "f32[N,2]" {
		t.Errorf("output %s, want f32[N,2]", got)
	}
}

// TestTablesBuildTrainBlocks: optimizer rows give the training graph its
// attributes, defaults included, in the row's order; loss rows append
// their ops and check the data source.
func TestTablesBuildTrainBlocks(t *testing.T) {
	const m = "model M(h = 3, r = 0.5, on = true) {\n    fc = Linear(4, 2)\n    forward(x: f32[N, 4]) {\n        return fc(x)\n    }\n}\n"
	tests := []struct {
		train, attrs, outputs, err string
	}{
		{"loss = cross_entropy\n optimizer = SGD(lr = 0.1, momentum = 0.9)",
			`batch=32,optimizer="SGD",lr=0.1,momentum=0.9,dampening=0.0,weight_decay=0.0,nesterov=false`, "loss correct", ""},
		{"loss = mse\n optimizer = Adam()",
			`batch=32,optimizer="Adam",lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.0`, "loss", ""},
		{"loss = bce_with_logits\n optimizer = AdamW(lr = 1)\n batch = 8",
			`batch=8,optimizer="AdamW",lr=1.0,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01`, "loss correct", ""},
		{"loss = cross_entropy\n optimizer = SGD(lr = 0.1, nesterov = true)", "", "",
			"m.nn:11:14: SGD: nesterov needs a positive momentum and zero dampening"},
		{"loss = hinge\n optimizer = SGD(lr = 0.1)", "", "",
			"m.nn:10:9: unknown loss hinge; nnc knows cross_entropy, mse, bce_with_logits"},
		{"loss = bce_with_logits\n optimizer = SGD(lr = 0.1)\n data = random(samples = 4, classes = 3)", "", "",
			"m.nn:11:9: random: bce_with_logits has 2 classes, not 3"},
		{"loss = cross_entropy\n optimizer = SGD(lr = 0.1)\n data = random(samples = 4, classes = 3)", "", "",
			"m.nn:11:9: random: 3 classes, but the model scores 2"},
	}
	for _, tt := range tests {
		src := m + "train M {\n epochs = 1\n data = random(samples = 4)\n " + tt.train + "\n}\n"
		if strings.Count(src, "data =") > 1 {
			src = strings.Replace(src, " data = random(samples = 4)\n", "", 1)
		}
		p, err := buildSrc(t, src)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%q: error %v, want %s", tt.train, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.train, err)
			continue
		}
		text := ir.Print(p.TrainGraph)
		if !strings.Contains(text, "{"+tt.attrs+"}") {
			t.Errorf("%q: training graph attributes differ, want {%s}:\n%s", tt.train, tt.attrs, text)
		}
		var outs []string
		for _, o := range p.TrainGraph.Outputs {
			outs = append(outs, o.Name)
		}
		if got := strings.Join(outs, " "); got != tt.outputs {
			t.Errorf("%q: outputs %s, want %s", tt.train, got, tt.outputs)
		}
		if p.HParams[0].Value != int64(3) || p.HParams[1].Value != 0.5 || p.HParams[2].Value != true {
			t.Errorf("hyper-parameters %v", p.HParams)
		}
	}
}

func TestUsageError(t *testing.T) {
	f, err := dsl.Parse("m.nn", []byte(model("", "f32[N, 4]", "return x")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = build.Build(f, build.Options{Model: "Nope"})
	var usage *build.UsageError
	if !errors.As(err, &usage) || err.Error() != "--model Nope: m.nn declares no such model; it declares M" {
		t.Errorf("got %v", err)
	}
}

// TestOverrideTraining: --lr and --batch replace the optimizer row's lr
// and the batch in the train block and in the graphs' attributes; a train
// block may use the model's hyper-parameters.
func TestOverrideTraining(t *testing.T) {
	const src = "model M(rate = 0.5) {\n    fc = Linear(4, 2)\n    forward(x: f32[N, 4]) {\n        return fc(x)\n    }\n}\ntrain M {\n epochs = 1\n data = random(samples = 4)\n loss = cross_entropy\n optimizer = SGD(lr = rate, momentum = 0.9)\n}\n"
	p, err := buildSrc(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if lr, _ := p.TrainGraph.Attrs.Get("lr"); lr != 0.5 {
		t.Errorf("lr = rate gives %v, want 0.5", lr)
	}
	if err := build.OverrideTraining(p, 0.25, 16); err != nil {
		t.Fatal(err)
	}
	want := `{batch=16,optimizer="SGD",lr=0.25,momentum=0.9,dampening=0.0,weight_decay=0.0,nesterov=false}`
	if got := ir.Print(p.TrainGraph); !strings.Contains(got, want) {
		t.Errorf("training graph after the override, want %s:\n%s", want, got)
	}
	if p.Train.Batch != 16 || p.EvalGraph.Attrs.Int("batch", 0) != 16 {
		t.Errorf("batch %d, evaluation graph's %d; want 16", p.Train.Batch, p.EvalGraph.Attrs.Int("batch", 0))
	}
	var usage *build.UsageError
	if err := build.OverrideTraining(p, -1, 0); !errors.As(err, &usage) || err.Error() != "--lr must be a positive number, got -1" {
		t.Errorf("negative lr: %v", err)
	}
	p.Train = nil
	if err := build.OverrideTraining(p, 0.1, 0); !errors.As(err, &usage) || err.Error() != "model M has no train block to override" {
		t.Errorf("no train block: %v", err)
	}
}
