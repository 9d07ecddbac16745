package train

import (
	"bytes"
	"math"
	"testing"
)

// TestPrinter pins the progress lines of LANGUAGE.md, in text and JSON,
// for classification and regression.
func TestPrinter(t *testing.T) {
	for _, tt := range []struct {
		json, quiet, classify bool
		want                  string
	}{
		{false, false, true, "classes: 0=setosa 1=\"two words\" 2=\"\"\n" +
			"epoch 2/10  loss 0.693147  accuracy 0.8125\n" +
			"test accuracy 0.9000\n"},
		{false, false, false, "classes: 0=setosa 1=\"two words\" 2=\"\"\n" +
			"epoch 2/10  loss 0.693147\n" +
			"test loss 0.250000\n"},
		{true, false, true, `{"epoch":2,"epochs":10,"loss":0.6931471805599453,"accuracy":0.8125}` + "\n" +
			`{"split":"test","loss":0.25,"accuracy":0.9}` + "\n"},
		{true, false, false, `{"epoch":2,"epochs":10,"loss":0.6931471805599453}` + "\n" +
			`{"split":"test","loss":0.25}` + "\n"},
		{false, true, true, "test accuracy 0.9000\n"},
	} {
		var b bytes.Buffer
		p := printer{out: &b, json: tt.json, quiet: tt.quiet, classify: tt.classify}
		p.classes([]string{"setosa", "two words", ""})
		acc := 0.8125
		if !tt.classify {
			acc = math.NaN()
		}
		p.epoch(Epoch{Epoch: 2, Epochs: 10, Loss: math.Ln2, Accuracy: acc})
		p.final(Epoch{Split: "test", Loss: 0.25, Accuracy: 0.9})
		if b.String() != tt.want || p.err != nil {
			t.Errorf("json %v, quiet %v, classify %v: printed\n%s(error %v), want\n%s", tt.json, tt.quiet, tt.classify, b.String(), p.err, tt.want)
		}
	}
}
