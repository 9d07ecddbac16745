

# ---------------------------------------------------------------------------
# The rest is the same in every script nnc export writes: nnc's semantics in
# PyTorch (data sources, loss and accuracy, the epoch lines, checkpoints).

HERE = os.path.dirname(os.path.abspath(__file__))


def _div(a, b):
    """nnc's / of two integers: an integer when exact, else a float."""
    if isinstance(a, int) and isinstance(b, int) and b != 0 and a % b == 0:
        return a // b
    return a / b


def scaled_dot_product_attention(q, k, v, causal=False):
    """softmax(q kᵀ / sqrt(D), masked above the diagonal when causal) v."""
    s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if causal:
        t = s.shape[-1]
        above = torch.ones(t, t, dtype=torch.bool, device=s.device).triu(1)
        s = s.masked_fill(above, float("-inf"))
    return torch.matmul(F.softmax(s, dim=-1), v)


_M64 = (1 << 64) - 1


class GoPCG:
    """Go's math/rand/v2 PCG with Rand.Float64 and Rand.IntN: the generator
    nnc shuffles and draws dropout masks with (--match-nnc)."""

    MUL = (2549297995355413924 << 64) | 4865540595714422341
    INC = (6364136223846793005 << 64) | 1442695040888963407

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & _M64) << 64) | (seed2 & _M64)

    def uint64(self):
        self.state = (self.state * self.MUL + self.INC) & ((1 << 128) - 1)
        hi, lo = self.state >> 64, self.state & _M64
        hi ^= hi >> 32
        hi = (hi * 0xDA942042E4DD58B5) & _M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & _M64

    def float64(self):
        return (self.uint64() & ((1 << 53) - 1)) / (1 << 53)

    def intn(self, n):
        if n & (n - 1) == 0:
            return self.uint64() & (n - 1)
        prod = self.uint64() * n
        lo = prod & _M64
        if lo < n:
            thresh = ((1 << 64) - n) % n
            while lo < thresh:
                prod = self.uint64() * n
                lo = prod & _M64
        return prod >> 64


class _Match:
    """Set for --match-nnc: the dropout generator, and which rows of the
    global batch this process holds (DistributedDataParallel)."""
    dropout = None
    rows = None  # (start, stop, n): this process's rows of a global batch of n


class Dropout(nn.Module):
    """torch.nn.Dropout; with --match-nnc, nnc's masks: an element is
    dropped when its draw of nnc's generator is below p, and the kept ones
    are scaled by 1/(1 - p)."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        if _Match.dropout is None:
            return F.dropout(x, self.p, True)
        start, stop, n = _Match.rows
        per_row = x[0].numel() if x.shape[0] else 0
        if self.p >= 1:
            return x * 0
        rng = _Match.dropout
        scale = 1.0 / (1.0 - self.p)
        draws = [0.0 if rng.float64() < self.p else scale for _ in range(n * per_row)]
        mask = torch.tensor(draws, dtype=x.dtype).reshape(n, *x.shape[1:])[start:stop]
        return x * mask

    def extra_repr(self):
        return "p={}".format(self.p)


_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32,
           "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool, "F16": torch.float16, "BF16": torch.bfloat16}
_NAMES = {v: k for k, v in _DTYPES.items()}


def load_safetensors(path):
    """The tensors and metadata of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: not a safetensors file (too short)" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: header of %d bytes in a file of %d" % (path, n, len(raw)))
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None) or {}
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        dt = _DTYPES[t["dtype"]]
        buf = bytearray(raw[8 + n + b:8 + n + e])
        out[name] = torch.frombuffer(buf, dtype=dt).reshape(t["shape"]) if buf else torch.zeros(t["shape"], dtype=dt)
    return out, meta


def save_safetensors(path, tensors, meta):
    """Writes tensors atomically (a temporary file, then a rename)."""
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        b = t.detach().cpu().contiguous().numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read_idx(path, magic):
    import gzip
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    got, = struct.unpack(">I", raw[:4])
    if got != magic:
        raise ValueError("%s: IDX magic %#x, want %#x" % (path, got, magic))
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    data = torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8)
    return data.reshape(shape)


def load_data(src, train=None):
    """A data source of the train block: features x shaped to the model's
    input, targets y; classes (names) and vocab where the source has them."""
    kind, loss = src["kind"], TRAIN["loss"]
    out = {"classes": None, "vocab": None}
    if kind == "random":
        t, _ = load_safetensors(os.path.join(HERE, src["file"]))
        x, y = t[src["split"] + ".x"], t[src["split"] + ".y"]
    elif kind == "idx":
        images = _read_idx(src["images"], 0x00000803)
        labels = _read_idx(src["labels"], 0x00000801)
        x = images.reshape(images.shape[0], -1).to(torch.float32) / 255.0
        y = labels.to(torch.int64)
    elif kind == "text":
        with open(src["path"], encoding="utf-8") as f:
            text = f.read()
        vocab = train["vocab"] if train else sorted(set(text))
        ids = torch.tensor([vocab.index(c) for c in text], dtype=torch.int64)
        t = INPUT_SHAPE[0]
        n = (len(ids) - 1) // t
        x = ids[:n * t].reshape(n, t)
        y = ids[1:n * t + 1].reshape(n, t)
        out["vocab"] = vocab
    elif kind == "csv":
        import csv
        with open(src["path"], newline="", encoding="utf-8") as f:
            rows = [[c.strip() for c in r] for r in csv.reader(f, skipinitialspace=True) if r]
        names = rows.pop(0) if src["header"] else None
        target = src["target"]
        if isinstance(target, str):
            target = names.index(target)
        elif target < 0:
            target += len(rows[0])
        feats = [[float(v) for j, v in enumerate(r) if j != target] for r in rows]
        x = torch.tensor(feats, dtype=torch.float32)
        col = [r[target] for r in rows]
        if loss == "cross_entropy":
            try:
                y = torch.tensor([int(float(v)) for v in col], dtype=torch.int64)
            except ValueError:
                classes = train["classes"] if train else sorted(set(col))
                y = torch.tensor([classes.index(v) for v in col], dtype=torch.int64)
                out["classes"] = classes
        else:
            y = torch.tensor([float(v) for v in col], dtype=torch.float32).reshape(-1, 1)
        if src["normalize"]:
            if train is None:
                xd = x.to(torch.float64)
                mean = xd.mean(0)
                std = ((xd - mean) ** 2).mean(0).sqrt()
                std[(std == 0) | (xd.min(0).values == xd.max(0).values)] = 1
                out["norm"] = (mean, std)
            mean, std = (train or out)["norm"]
            x = ((x.to(torch.float64) - mean) / std).to(torch.float32)
    else:
        raise ValueError("unknown data source %r" % kind)
    if INPUT_DTYPE.is_floating_point:
        x = x.to(INPUT_DTYPE)
    out["x"] = x.reshape(x.shape[0], *INPUT_SHAPE)
    out["y"] = y.to(PARAM_DTYPE) if loss != "cross_entropy" else y
    return out


def loss_and_correct(out, y):
    """The train block's loss (a mean) and how many predictions are right."""
    loss = TRAIN["loss"]
    if loss == "cross_entropy":
        flat, yy = out.reshape(-1, out.shape[-1]), y.reshape(-1)
        return F.cross_entropy(flat, yy), int((flat.argmax(-1) == yy).sum())
    yy = y.reshape(out.shape)
    if loss == "mse":
        return F.mse_loss(out, yy), 0
    return F.binary_cross_entropy_with_logits(out, yy), int(((out > 0) == (yy > 0.5)).sum())


class Printer:
    def __init__(self, json_lines, classify, enabled):
        self.json, self.classify, self.enabled = json_lines, classify, enabled

    def line(self, fields, text):
        if not self.enabled:
            return
        if self.json:
            print(json.dumps(fields, separators=(",", ":")), flush=True)
        else:
            print(text, flush=True)

    def classes(self, names):
        if self.json or not self.enabled or not names:
            return
        def show(n):
            return json.dumps(n) if (n == "" or any(c in n for c in ' \t="') or not n.isprintable()) else n
        print("classes: " + " ".join("%d=%s" % (k, show(n)) for k, n in enumerate(names)), flush=True)

    def epoch(self, e, epochs, loss, acc):
        fields = {"epoch": e, "epochs": epochs, "loss": loss}
        text = "epoch %d/%d  loss %.6f" % (e, epochs, loss)
        if self.classify:
            fields["accuracy"] = acc
            text += "  accuracy %.4f" % acc
        self.line(fields, text)

    def final(self, split, loss, acc):
        fields = {"split": split, "loss": loss}
        if self.classify:
            fields["accuracy"] = acc
            text = "%s accuracy %.4f" % (split, acc)
        else:
            text = "%s loss %.6f" % (split, loss)
        self.line(fields, text)


def evaluate(model, ds, batch):
    model.eval()
    n = ds["x"].shape[0]
    per = ds["y"][0].numel() if TRAIN["loss"] == "cross_entropy" else 1
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for b in range(0, n, batch):
            out = model(ds["x"][b:b + batch])
            loss, c = loss_and_correct(out, ds["y"][b:b + batch])
            loss_sum += float(loss) * min(batch, n - b)
            correct += c
    model.train()
    return loss_sum / n, correct / (n * per)


def train(argv=None):
    ap = argparse.ArgumentParser(description="Train %s as its train block in %s says (nnc run), then save the checkpoint." % (MODEL, SOURCE))
    ap.add_argument("--epochs", type=int, default=TRAIN["epochs"], help="epochs to train (default: the train block's)")
    ap.add_argument("--init", default=INIT, help="safetensors checkpoint to start from (default: %(default)s; none: PyTorch's initialisation)")
    ap.add_argument("--save", default=os.path.join(HERE, os.path.splitext(os.path.basename(__file__))[0] + ".safetensors"),
                    help="where to write the trained checkpoint (default: %(default)s; '' writes none)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per line, as nnc run --json")
    ap.add_argument("--match-nnc", action="store_true",
                    help="shuffle and draw dropout masks with nnc's generator, so that the trajectory follows nnc run's")
    args = ap.parse_args(argv)

    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if world > 1:
        torch.distributed.init_process_group("gloo")
    batch = TRAIN["batch"]
    if batch % world:
        sys.exit("%s: the batch of %d does not split over %d processes" % (SOURCE, batch, world))
    torch.manual_seed(TRAIN["seed"])
    torch.set_default_dtype(PARAM_DTYPE)
    model = make_model().to(PARAM_DTYPE)
    if args.init:
        tensors, _ = load_safetensors(args.init)
        # nnc's checkpoints carry the optimizer's state too (optimizer.*).
        state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
        missing = sorted(set(model.state_dict()) - set(state))
        extra = sorted(set(state) - set(model.state_dict()))
        if missing or extra:
            sys.exit("%s: %s" % (args.init, "; ".join(
                (["missing " + ", ".join(missing)] if missing else []) + (["unexpected " + ", ".join(extra)] if extra else []))))
        for k, v in model.state_dict().items():
            if tuple(state[k].shape) != tuple(v.shape):
                sys.exit("%s: %s has shape %s, the model's is %s" % (args.init, k, list(state[k].shape), list(v.shape)))
        model.load_state_dict(state, strict=True)
    train_set = load_data(DATA)
    test_set = load_data(TEST, train_set) if TEST else None
    n = train_set["x"].shape[0]
    per = train_set["y"][0].numel() if TRAIN["loss"] == "cross_entropy" else 1
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = make_optimizer(model)
    order_rng = GoPCG(TRAIN["seed"], 0x6E6E632D6C6F6164) if args.match_nnc else None
    if args.match_nnc:
        _Match.dropout = GoPCG(TRAIN["seed"], 0x64726F70)
    torch_rng = torch.Generator().manual_seed(TRAIN["seed"])
    classify = TRAIN["loss"] != "mse"
    out = Printer(args.json, classify, rank == 0)

    def order():
        if not TRAIN["shuffle"]:
            return list(range(n))
        if order_rng is None:
            return torch.randperm(n, generator=torch_rng).tolist()
        o = list(range(n))
        for i in range(n - 1, 0, -1):
            j = order_rng.intn(i + 1)
            o[i], o[j] = o[j], o[i]
        return o

    out.classes(train_set["classes"])
    model.train()
    idx = order()
    batches = (n + batch - 1) // batch
    for e in range(1, args.epochs + 1):
        loss_sum, correct = 0.0, 0
        for b in range(batches):
            rows = idx[b * batch:(b + 1) * batch]
            m = len(rows)
            start, stop = rank * m // world, (rank + 1) * m // world
            _Match.rows = (start, stop, m)
            mine = torch.tensor(rows[start:stop], dtype=torch.int64)
            opt.zero_grad()
            loss, c = loss_and_correct(net(train_set["x"][mine]), train_set["y"][mine])
            # DistributedDataParallel averages the processes' gradients: weight
            # each by its share of the global batch, so the step is the mean over it.
            (loss * ((stop - start) * world / m)).backward()
            if TRAIN["clip_grad_norm"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN["clip_grad_norm"])
            opt.step()
            stats = torch.tensor([float(loss) * (stop - start) / m, float(c)], dtype=torch.float64)
            if world > 1:
                torch.distributed.all_reduce(stats)
            if not math.isfinite(float(stats[0])):
                sys.exit("epoch %d, batch %d: training diverged: the loss is %s" % (e, b + 1, float(stats[0])))
            loss_sum += float(stats[0])
            correct += int(stats[1])
        out.epoch(e, args.epochs, loss_sum / batches, correct / (n * per))
        idx = order()
    if rank == 0:
        final = test_set if test_set else train_set
        loss, acc = evaluate(model, final, batch)
        out.final("test" if test_set else "train", loss, acc)
        if args.save:
            meta = {"model": MODEL, "loss": TRAIN["loss"], "hyperparameters": HYPERPARAMETERS,
                    "source_sha256": SOURCE_SHA256, "format": "pt", "exported_from": SOURCE}
            if train_set["classes"]:
                meta["classes"] = json.dumps(train_set["classes"])
            if train_set["vocab"]:
                meta["vocab"] = json.dumps("".join(train_set["vocab"]))
            save_safetensors(args.save, model.state_dict(), meta)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    try:
        train()
    except (OSError, ValueError, KeyError) as err:
        sys.exit("%s: %s" % (os.path.basename(__file__), err))
