"""`lenetlab train` and `lenetlab evaluate`."""

from __future__ import annotations

import argparse
from pathlib import Path

from lenetlab.cli.common import (
    add_command,
    add_data_dir,
    add_device,
    add_seed,
    positive_float,
    positive_int,
    print_table,
    progress_factory,
    write_json,
)
from lenetlab.data import load_mnist
from lenetlab.data.idx import atomic_write_bytes
from lenetlab.devices import resolve_device
from lenetlab.experiments import paper
from lenetlab.lenet1998 import INIT_RULES
from lenetlab.many import PATHS, choose_path, train_many
from lenetlab.models import MODELS
from lenetlab.sections import paper as paper_section
from lenetlab.training import (
    CHECKPOINT,
    ENGINES,
    Split,
    TrainConfig,
    choose_engine,
    evaluate,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
    train,
)

DEFAULTS = TrainConfig()


def register(sub) -> None:
    parser = add_command(
        sub, "train", run_train, "train a model on MNIST (the document's LeNet-5 recipe)",
        "Train with plain SGD on cross-entropy. Defaults are the document's recipe: lr 0.1, "
        "batch 100, 10 epochs, shuffled, inputs in [0,1].\nWrites OUT/checkpoint.pt after every "
        "epoch (atomically) and OUT/metrics.json at the end; --resume continues a killed run "
        "from its last checkpoint, bit for bit.\n\n"
        "--model lenet5-1998 trains the 1998 network (RBF outputs, trainable subsampling) by "
        "one of its recipes instead:\n"
        "  paper            online (batch 1), 20 passes, stochastic diagonal Levenberg-Marquardt\n"
        "  paper-distorted  the same on freshly distorted copies (translation, scale, squeeze, "
        "shear)\n"
        "  fast             mini-batches of 16, 8 passes, same network and loss\n"
        "and writes OUT/checkpoint.pt after every pass (--resume continues from it), "
        "OUT/metrics.json, OUT/curves.png and OUT/mistakes.png.",
    )
    parser.add_argument("--model", choices=list(MODELS), default=DEFAULTS.model)
    parser.add_argument("--recipe", choices=list(paper.RECIPES), default="fast",
                        help="recipe for --model lenet5-1998 (ignored by the others)")
    parser.add_argument("--mu", type=positive_float, default=None,
                        help="SDLM's mu for lenet5-1998 (default: the recipe's; the paper's "
                        "0.02 saturates our network, see the README)")
    parser.add_argument("--init", choices=list(INIT_RULES), default=None,
                        help="lenet5-1998's initial weights: uniform in ±2.4/F (fan-in, the "
                        "paper's text; the default) or ±2.4/sqrt(F) (what the paper's "
                        "reasoning describes)")
    parser.add_argument("--criterion", choices=["mse", "map"], default=None,
                        help="lenet5-1998's loss: mse = Eq. 8, the correct class's penalty "
                        "(default); map = Eq. 9, which also pushes the wrong classes away")
    parser.add_argument("--map-j", type=positive_float, default=None, metavar="J",
                        help="Eq. 9's constant j (default 10)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"passes over the training set (default: {DEFAULTS.epochs}, or "
                        "the recipe's for lenet5-1998)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULTS.batch_size)
    parser.add_argument("--lr", type=positive_float, default=DEFAULTS.lr, help="SGD step size")
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="how the step runs: plain eager PyTorch, torch.compile (same "
                        "function, fused kernels), or graphs (compiled and replayed as CUDA "
                        "graphs on a GPU; = compile on the CPU); 'auto' compiles runs of "
                        "2,000+ steps")
    parser.add_argument("--train-limit", type=positive_int, default=None, metavar="N",
                        help="train on the first N training images only")
    parser.add_argument("--out", type=Path, default=Path("runs/lenet5"),
                        help="folder for checkpoint.pt and metrics.json")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint.pt")
    add_seed(parser)
    add_device(parser)
    add_data_dir(parser)

    st = add_command(
        sub, "seeds", run_seeds, "train the same recipe from K seeds: the spread of accuracy",
        "Train --model K times with the document's recipe, seeds 0..K-1 (or --seeds), and "
        "print each test accuracy with the mean and standard deviation.\n"
        "--path vmap trains all K at once in one batched step (fastest on a GPU); "
        "sequential trains one after another (fastest on this kind of 2-core CPU); auto "
        "picks by device. Both give the same K models.",
    )
    st.add_argument("--model", choices=[m for m in MODELS if m != "lenet5-1998"],
                    default=DEFAULTS.model)
    which = st.add_mutually_exclusive_group()
    which.add_argument("--count", type=positive_int, default=3, metavar="K",
                       help="train seeds 0..K-1")
    which.add_argument("--seeds", type=seed_list, default=None, metavar="S,S,...",
                       help="train exactly these seeds instead of --count")
    st.add_argument("--epochs", type=positive_int, default=DEFAULTS.epochs)
    st.add_argument("--batch-size", type=positive_int, default=DEFAULTS.batch_size)
    st.add_argument("--lr", type=positive_float, default=DEFAULTS.lr, help="SGD step size")
    st.add_argument("--path", choices=PATHS, default="auto", help="all at once or in a row")
    st.add_argument("--train-limit", type=positive_int, default=None, metavar="N",
                    help="train on the first N training images only")
    st.add_argument("--out", type=Path, default=Path("runs/seeds"), help="folder for seeds.json")
    add_device(st)
    add_data_dir(st)

    ev = add_command(sub, "evaluate", run_evaluate, "test accuracy of a saved checkpoint")
    ev.add_argument("checkpoint", type=Path, help="checkpoint.pt, or the folder holding it")
    add_device(ev)
    add_data_dir(ev)


def run_train(args: argparse.Namespace) -> int:
    if args.model == "lenet5-1998":
        return run_recipe(args)
    config = TrainConfig(model=args.model, epochs=args.epochs or DEFAULTS.epochs,
                         batch_size=args.batch_size,
                         lr=args.lr, seed=args.seed, device=args.device,
                         train_limit=args.train_limit, engine=args.engine)
    device = resolve_device(args.device)
    train_data = Split.from_arrays(*load_mnist("train", args.data_dir), device, args.train_limit)
    test_data = Split.from_arrays(*load_mnist("test", args.data_dir), device)
    engine = choose_engine(config.engine, config.epochs * -(-len(train_data) // config.batch_size))
    print(f"training {config.model} on {len(train_data):,} images, {device}, seed {config.seed}, "
          f"{engine} engine")
    result = train(config, train_data, test_data, out_dir=args.out, resume=args.resume,
                   progress=progress_factory(args))
    print_table(["epoch", "train loss", "train acc", "test loss", "test acc", "seconds"],
                [[r.epoch, f"{r.train_loss:.4f}", f"{100 * r.train_accuracy:.2f}%",
                  f"{r.test_loss:.4f}", f"{100 * r.test_accuracy:.2f}%", f"{r.seconds:.1f}"]
                 for r in result.history], right={0, 1, 2, 3, 4, 5})
    write_json(args.out / "metrics.json", result.metrics())
    print(f"test accuracy {100 * result.test_accuracy:.2f}%, {result.params:,} parameters, "
          f"{result.train_seconds:.1f} s of training; wrote {args.out / 'metrics.json'}")
    return 0


def run_recipe(args: argparse.Namespace) -> int:
    """The 1998 network: SDLM recipes, error rates, figures of the curve and the mistakes."""
    chosen = {"passes": args.epochs, "mu": args.mu, "loss": args.criterion, "map_j": args.map_j,
              "init": args.init}
    overrides = {name: value for name, value in chosen.items() if value is not None}
    config = paper.recipe_config(args.recipe, seed=args.seed, device=args.device, **overrides)
    device = resolve_device(args.device)
    train_data = Split.from_arrays(*load_mnist("train", args.data_dir), device, args.train_limit)
    test_data = Split.from_arrays(*load_mnist("test", args.data_dir), device)
    print(f"training lenet5-1998 by the {args.recipe!r} recipe ({config.passes} passes, batch "
          f"{config.batch_size}, mu {config.mu}, {config.loss} criterion, {config.init} init) on "
          f"{len(train_data):,} images, {device}")

    checkpoint = args.out / CHECKPOINT
    resume = load_checkpoint(checkpoint, paper.CHECKPOINT_FORMAT) if args.resume else None
    if resume is not None:
        print(f"resuming from {checkpoint} after pass {len(resume['history'])}")

    def report(r: paper.PassRecord, state: paper.Checkpoint) -> None:
        save_checkpoint(checkpoint, state)
        print(f"pass {r.pass_number:2}: eta {r.eta:g}, train loss {r.train_loss:.4f}, "
              f"train error {100 * r.train_error:.2f}%, test error {100 * r.test_error:.2f}%, "
              f"{r.seconds:.1f} s", flush=True)

    result = paper.run_recipe(config, train_data, test_data, progress_factory(args), report,
                              resume)
    metrics = result.metrics()
    write_json(args.out / "metrics.json", metrics)
    atomic_write_bytes(args.out / "curves.png", paper_section.curves(result))
    atomic_write_bytes(args.out / "mistakes.png", paper_section.mistakes(result))
    print(f"test error {100 * result.test_error:.2f}% ({len(result.misclassified)} digits), "
          f"training error {100 * result.train_error:.2f}%, {result.train_seconds:.1f} s; "
          f"wrote {args.out}")
    silent = metrics["silent_maps"]
    print(f"subsampling maps left silent (|coefficient| < 0.02): S2 {silent['s2'] or 'none'}, "
          f"S4 {silent['s4'] or 'none'} of 6 and 16")
    return 0


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "whole numbers") from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} names a seed twice")
    return seeds


def run_seeds(args: argparse.Namespace) -> int:
    seeds = args.seeds or list(range(args.count))
    config = TrainConfig(model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, device=args.device, train_limit=args.train_limit)
    device = resolve_device(args.device)
    train_data = Split.from_arrays(*load_mnist("train", args.data_dir), device, args.train_limit)
    test_data = Split.from_arrays(*load_mnist("test", args.data_dir), device)
    path = choose_path(args.path, device)
    print(f"training {args.model} from {len(seeds)} seeds on {len(train_data):,} images, "
          f"{device}, {path} path")
    result = train_many(config, seeds, train_data, test_data, path, progress_factory(args))
    print_table(["seed", "test acc"], [[s, f"{100 * a:.2f}%"] for s, a in
                                       zip(seeds, result.test_accuracy, strict=True)],
                right={0, 1})
    write_json(args.out / "seeds.json", result.metrics())
    mean, sd = result.spread()
    print(f"mean {100 * mean:.2f}% ± {100 * sd:.2f} (sd), {result.train_seconds:.1f} s of "
          f"training, {result.models_per_second:.3f} models/s; wrote {args.out / 'seeds.json'}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model, config, state = model_from_checkpoint(args.checkpoint)
    device = resolve_device(args.device)
    test_data = Split.from_arrays(*load_mnist("test", args.data_dir), device)
    loss, accuracy = evaluate(model.to(device), test_data)
    print(f"{config.model} after {len(state['history'])} epochs (seed {config.seed}): "
          f"test accuracy {100 * accuracy:.2f}%, test loss {loss:.4f}")
    return 0
