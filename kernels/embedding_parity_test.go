package kernels_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/data"
	"github.com/nnc-go/nnc/kernels"
)

// TestTokenMLPParity trains the token_mlp parity case (Embedding →
// LayerNorm → Linear → relu → Linear over i64[N, 8] character ids, cross
// entropy over positions, Adam) by calling the kernels by hand, from
// PyTorch's initial weights on data.LoadText's samples, and holds it to
// PyTorch's trajectory as the parity tests hold nnc: each epoch's loss
// within 1e-4 relative, the accuracies (positions) exactly, and the trained
// weights within 1e-4. It checks the kernels and the text source against
// PyTorch before any back end calls them.
func TestTokenMLPParity(t *testing.T) {
	const (
		vocab, d, hid, ctx = 12, 16, 32, 8
		batch, epochs      = 4, 3
	)
	var dir string
	for _, c := range []string{"../testdata/parity/token_mlp", "../testdata/parity/pending/token_mlp"} {
		if _, err := os.Stat(filepath.Join(c, "expected.json")); err == nil {
			dir = c
			break
		}
	}
	if dir == "" {
		t.Fatal("no testdata/parity/token_mlp (nor under pending/)")
	}
	ds, err := data.LoadText(filepath.Join(dir, "corpus.txt"), data.TextOptions{Seq: ctx, Vocab: vocab})
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Epochs []struct{ Loss, Accuracy float64 }
		Final  struct{ Loss, Accuracy float64 }
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	init, err := checkpoint.Read(filepath.Join(dir, "init.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"tok.weight", "norm.weight", "norm.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
	p := map[string][]float32{}
	grad, m, v := map[string][]float32{}, map[string][]float32{}, map[string][]float32{}
	for _, name := range names {
		tn := init.Get(name)
		if tn == nil {
			t.Fatalf("init.safetensors lacks %s", name)
		}
		p[name] = tn.F32
		grad[name], m[name], v[name] = make([]float32, len(tn.F32)), make([]float32, len(tn.F32)), make([]float32, len(tn.F32))
	}

	rows := batch * ctx
	emb, h := make([]float32, rows*d), make([]float32, rows*d)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	a1, logits := make([]float32, rows*hid), make([]float32, rows*vocab)
	da1, dh, demb := make([]float32, rows*hid), make([]float32, rows*d), make([]float32, rows*d)
	// forward runs the model on the samples' ids x (n·ctx of them) and
	// returns the loss and the positions predicted right; with train, it
	// also leaves the gradients in grad.
	forward := func(x, y []int64, train bool) (float64, int) {
		n := len(x)
		emb, h, mean, rstd := emb[:n*d], h[:n*d], mean[:n], rstd[:n]
		a1, logits, da1, dh, demb := a1[:n*hid], logits[:n*vocab], da1[:n*hid], dh[:n*d], demb[:n*d]
		if err := kernels.EmbeddingForward(emb, p["tok.weight"], x, vocab, d); err != nil {
			t.Fatal(err)
		}
		kernels.LayerNorm(h, emb, p["norm.weight"], p["norm.bias"], mean, rstd, n, d, 1e-5)
		kernels.Linear(a1, h, p["fc1.weight"], p["fc1.bias"], n, d, hid, true)
		kernels.Linear(logits, a1, p["fc2.weight"], p["fc2.bias"], n, hid, vocab, false)
		if !train {
			return kernels.CrossEntropyInt64(nil, logits, y, n, vocab)
		}
		loss, correct := kernels.CrossEntropyInt64(logits, logits, y, n, vocab) // logits ← dlogits
		kernels.LinearBackward(da1, grad["fc2.weight"], grad["fc2.bias"], logits, a1, p["fc2.weight"], n, hid, vocab)
		kernels.ReluBackward(da1, da1, a1)
		kernels.LinearBackward(dh, grad["fc1.weight"], grad["fc1.bias"], da1, h, p["fc1.weight"], n, d, hid)
		kernels.LayerNormBackward(demb, grad["norm.weight"], grad["norm.bias"], dh, emb, p["norm.weight"], mean, rstd, n, d)
		kernels.EmbeddingBackward(grad["tok.weight"], demb, x, vocab, d)
		return loss, correct
	}

	loader := data.NewLoader(ds, batch, false, 0)
	x, y := make([]int64, rows), make([]int64, rows)
	cfg := kernels.AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	step, worst := 0, 0.0
	for e := range epochs {
		sum, correct := 0.0, 0
		for bi := range loader.Batches() {
			n := loader.BatchTokens(bi, x, y) * ctx
			loss, c := forward(x[:n], y[:n], true)
			sum += loss
			correct += c
			step++
			for _, name := range names {
				kernels.Adam(p[name], grad[name], m[name], v[name], step, cfg)
			}
		}
		loss, acc := sum/float64(loader.Batches()), float64(correct)/float64(ds.N*ctx)
		rel := math.Abs(loss-want.Epochs[e].Loss) / want.Epochs[e].Loss
		worst = max(worst, rel)
		if rel > 1e-4 || acc != want.Epochs[e].Accuracy {
			t.Errorf("epoch %d: loss %.9g, accuracy %v; PyTorch %.9g, %v", e+1, loss, acc, want.Epochs[e].Loss, want.Epochs[e].Accuracy)
		}
	}
	// The final evaluation, a batch at a time.
	sum, correct := 0.0, 0
	for bi := range loader.Batches() {
		n := loader.BatchTokens(bi, x, y) * ctx
		loss, c := forward(x[:n], y[:n], false)
		sum += loss * float64(n)
		correct += c
	}
	loss, acc := sum/float64(ds.N*ctx), float64(correct)/float64(ds.N*ctx)
	if rel := math.Abs(loss-want.Final.Loss) / want.Final.Loss; rel > 1e-4 || acc != want.Final.Accuracy {
		t.Errorf("final: loss %.9g, accuracy %v; PyTorch %.9g, %v", loss, acc, want.Final.Loss, want.Final.Accuracy)
	}
	t.Logf("largest relative epoch-loss difference from PyTorch: %.3g", worst)

	final, err := checkpoint.Read(filepath.Join(dir, "final.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	largest := 0.0
	for _, name := range names {
		w := final.Get(name).F32
		for i, got := range p[name] {
			diff := math.Abs(float64(got - w[i]))
			largest = max(largest, diff)
			if diff > 1e-4*math.Max(1, math.Abs(float64(w[i]))) {
				t.Errorf("%s[%d] = %v after training, PyTorch %v", name, i, got, w[i])
				break
			}
		}
	}
	t.Logf("largest difference of a trained weight from PyTorch's: %.3g", largest)
}
