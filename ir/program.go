package ir

import (
	"math"
	"strconv"

	"github.com/nnc-go/nnc/diag"
)

// Program is a checked model file, compiled for one entry model: the
// graphs a front end built and the train block's configuration. It holds
// nothing of the language the model was written in.
type Program struct {
	File  string // the model file's name, for positions and relative paths
	Model string // the entry model
	// HParams are the entry model's hyper-parameters after overrides, in
	// declaration order.
	HParams []HParam
	// Forward is the forward pass in evaluation mode; its output is "out".
	Forward *Graph
	// Train is the entry model's train block, or nil.
	Train *TrainConfig
	// TrainGraph is the forward pass in training mode followed by the loss:
	// outputs "loss" and, for classification, "correct". Nil without Train.
	TrainGraph *Graph
	// EvalGraph is the forward pass in evaluation mode followed by the
	// loss, for the final report. Nil without Train.
	EvalGraph *Graph
	// Step is the graph of one sampling step with a KV cache that
	// passes.KVStep derives from Forward for a causal token model, planned
	// for batch 1; nil for other models (sampling then runs Forward).
	Step     *Graph
	Warnings []*diag.Diagnostic
	// Weights, for a model file that holds its trained tensors (an ONNX
	// file's initializers), are those tensors in the safetensors format:
	// the weights commands use when given none.
	Weights []byte
	// Aliases maps other names of the forward graph's inputs and outputs
	// (their names in an ONNX file) to their names in the graph.
	Aliases map[string]string
}

// HParam is a hyper-parameter and its value: an int64, a float64 or a
// bool.
type HParam struct {
	Name  string
	Value any
}

// TrainConfig is a validated train block.
type TrainConfig struct {
	Pos       diag.Pos
	Model     string
	Data      *DataSource
	Test      *DataSource // nil: the final report is on the training data
	Loss      Loss
	Optimizer Optimizer
	Epochs    int
	Batch     int
	Shuffle   bool
	Seed      uint64
	// ClipGradNorm > 0 clips the total gradient norm to it before each
	// optimizer step (train key clip_grad_norm).
	ClipGradNorm float64
	// Privacy, when not nil, trains with DP-SGD (train key privacy).
	Privacy *Privacy
}

// Privacy is a validated privacy = dp(clip = C, noise = σ, delta = δ):
// DP-SGD as Abadi et al. (2016) and Opacus define it. Each step samples
// its batch by Poisson sampling at rate q = batch/samples, clips each
// example's gradient to norm Clip, adds N(0, Noise²·Clip²) to their sum
// and divides by the expected batch size.
type Privacy struct {
	Pos                diag.Pos
	Clip, Noise, Delta float64
}

// DPMaxBatch is the largest Poisson-sampled batch a DP training step is
// planned for when the expected batch is b: b plus nine standard
// deviations and a margin, so that a larger draw (which the loader draws
// again) has a probability below 1e-18.
func DPMaxBatch(b int) int {
	return b + int(math.Ceil(9*math.Sqrt(float64(b)))) + 16
}

// DataSource is a validated data source: random, csv, mnist or idx.
type DataSource struct {
	Pos  diag.Pos
	Kind string

	Samples, Classes int // random; Classes 0 means the model's
	Seed             uint64

	Path        string // csv, relative to the model file's folder
	Target      string // csv: the target column's name, or ""
	TargetIndex int    // csv: its index when Target is "", -1 for the last
	Header      bool
	// Normalize standardises each feature with the training data's mean
	// and standard deviation (data only; the test set is scaled with the
	// training data's statistics).
	Normalize bool

	Split          string // mnist: train or test
	Images, Labels string // idx
}

// Optimizer is a validated optimizer: its name (SGD, Adam, AdamW) and
// every hyper-parameter, defaults included, by its name in the language
// and in the optimizer's declaration order. The training graph carries
// them as attributes for the optim pass.
type Optimizer struct {
	Pos   diag.Pos
	Name  string
	Attrs Attrs
}

// Loss is a training loss. It says what the targets are (class indices
// or values), whether predictions are classes with an accuracy, and how
// the outputs of a trained model read. Its String is the train block's
// spelling.
type Loss uint8

const (
	NoLoss        Loss = iota // none given ("none"): outputs are read as values
	CrossEntropy              // class scores [N, C] against class indices
	MSE                       // values against values
	BCEWithLogits             // logits against targets in [0, 1], class 1 when positive
	numLosses
)

var lossNames = [numLosses]string{NoLoss: "none", CrossEntropy: "cross_entropy", MSE: "mse", BCEWithLogits: "bce_with_logits"}

// Losses lists the losses, in the order messages list them.
var Losses = []Loss{CrossEntropy, MSE, BCEWithLogits}

// ParseLoss returns the loss the train block spells s.
func ParseLoss(s string) (Loss, bool) {
	for _, l := range Losses {
		if lossNames[l] == s {
			return l, true
		}
	}
	return NoLoss, false
}

func (l Loss) String() string {
	if l < numLosses {
		return lossNames[l]
	}
	return "Loss(" + strconv.Itoa(int(l)) + ")"
}

// Valid reports whether l is one of Losses.
func (l Loss) Valid() bool { return l > NoLoss && l < numLosses }

// Classification reports whether l predicts classes, and so has an
// accuracy.
func (l Loss) Classification() bool { return l == CrossEntropy || l == BCEWithLogits }

// TargetDType returns the element type of l's targets for a model whose
// outputs are of type out: I32 class indices for CrossEntropy, else out.
func (l Loss) TargetDType(out DType) DType {
	if l == CrossEntropy {
		return I32
	}
	return out
}

// InitBound returns the bound b of PyTorch's default U(-b, b) initialisation
// of Linear and Conv2d parameters: 1/sqrt(fan_in).
func InitBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
