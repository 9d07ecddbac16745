package train

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/nnc-go/nnc/checkpoint"
	"github.com/nnc-go/nnc/ir"
	"github.com/nnc-go/nnc/kernels"
	"github.com/nnc-go/nnc/nncrt"
)

// Position is where an interrupted run stopped: before batch Batch
// (counting from 0) of epoch Epoch, with the sums of the epoch's batches
// so far, and the state of the dropout generator.
type Position struct {
	Epoch, Batch     int
	LossSum, Correct float64
	// Seen is the number of rows the epoch's batches held so far, which
	// Poisson sampling (privacy = dp(...)) varies; 0 when not recorded.
	Seen int
	RNG  []byte
}

func (p *Position) metadata(m map[string]string) {
	m["epoch"] = strconv.Itoa(p.Epoch)
	m["batch"] = strconv.Itoa(p.Batch)
	m["epoch_loss_sum"] = strconv.FormatFloat(p.LossSum, 'g', -1, 64)
	m["epoch_correct"] = strconv.FormatFloat(p.Correct, 'g', -1, 64)
	if p.Seen > 0 {
		m["epoch_seen"] = strconv.Itoa(p.Seen)
	}
	if p.RNG != nil {
		m["dropout_rng"] = hex.EncodeToString(p.RNG)
	}
}

// Interrupted is the error of a run stopped by Options.Stop.
type Interrupted struct {
	Epoch, Batch, Batches int
	Saved                 string // the checkpoint written, or ""
}

func (e *Interrupted) Error() string {
	s := fmt.Sprintf("interrupted in epoch %d, before batch %d of %d", e.Epoch, e.Batch+1, e.Batches)
	if e.Saved == "" {
		// Said, so that nobody takes the run for resumable.
		return s + "; nothing saved (with --save CKPT an interrupted run can be resumed)"
	}
	return s + fmt.Sprintf("; saved %s (go on with --resume %s)", e.Saved, e.Saved)
}

// interrupt saves the state of a stopped run, when asked to, and returns
// the *Interrupted error.
func interrupt[T kernels.Float](eng *engine[T], p *ir.Program, opt Options, info DataInfo, pos Position, batches int) error {
	if eng.rng != nil {
		pos.RNG = eng.rng.state()
	}
	e := &Interrupted{Epoch: pos.Epoch, Batch: pos.Batch, Batches: batches}
	if opt.Save != "" {
		if err := saveState[T](eng.store, p, opt.Source, info, &pos, opt.Save); err != nil {
			return fmt.Errorf("%v; and saving failed: %v", e, err)
		}
		e.Saved = opt.Save
	}
	return e
}

// resume loads a checkpoint an interrupted run saved and returns where to
// go on from.
func resume[T kernels.Float](store nncrt.Tensors[T], g *ir.Graph, path string, eng *engine[T]) (Position, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return Position{}, err
	}
	if err := loadTensors[T](store, g, f, path); err != nil {
		return Position{}, err
	}
	var pos Position
	md := f.Metadata
	if md["epoch"] == "" {
		return Position{}, fmt.Errorf("%s: no position: it was not saved by an interrupted run (use --init to start from its weights)", path)
	}
	for key, dst := range map[string]*int{"epoch": &pos.Epoch, "batch": &pos.Batch} {
		if *dst, err = strconv.Atoi(md[key]); err != nil || *dst < 0 {
			return Position{}, fmt.Errorf("%s: bad %s %q in the metadata", path, key, md[key])
		}
	}
	for key, dst := range map[string]*float64{"epoch_loss_sum": &pos.LossSum, "epoch_correct": &pos.Correct} {
		if *dst, err = strconv.ParseFloat(md[key], 64); err != nil {
			return Position{}, fmt.Errorf("%s: bad %s %q in the metadata", path, key, md[key])
		}
	}
	if s := md["epoch_seen"]; s != "" {
		if pos.Seen, err = strconv.Atoi(s); err != nil || pos.Seen < 0 {
			return Position{}, fmt.Errorf("%s: bad epoch_seen %q in the metadata", path, s)
		}
	}
	if r := md["dropout_rng"]; r != "" && eng.rng != nil {
		b, err := hex.DecodeString(r)
		if err != nil || eng.rng.setState(b) != nil {
			return Position{}, fmt.Errorf("%s: bad dropout_rng in the metadata", path)
		}
	}
	return pos, nil
}
