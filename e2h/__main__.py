"""The command line: ``python -m e2h run | seeds | weights | base`` (``python -m e2h <command> -h`` for each)."""

from __future__ import annotations

import argparse
import sys

from e2h.io import ArtifactError, FolderInUse
from e2h.params import ParamsError

# Bad input of any kind: one line naming the file, key or line, exit code 2.
BAD_INPUT = (ParamsError, ArtifactError, FolderInUse, FileNotFoundError, ValueError)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m e2h")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the numbered notebooks for a params file")
    r.add_argument("params", help="params YAML, e.g. params/default.yaml")
    r.add_argument("--stages", help="which stages, e.g. 03-06 or 00,04 (default: the params file's `stages`, else all)")
    r.add_argument("--force", action="store_true", help="rerun stages even if done under the same params")
    r.add_argument("--html", action="store_true", help="also export each executed notebook to HTML")
    r.add_argument("--notebooks", help="folder of the numbered notebooks (default: notebooks/ beside params/)")
    r.add_argument("--wait", action="store_true", help="if another process is running this params file's run "
                                                       "folder, wait for it instead of stopping")
    s = sub.add_parser("seeds", help="run a params file under more seeds and pool the differences with majority")
    s.add_argument("params", help="params YAML, e.g. params/default.yaml (run as it is, plus once per seed)")
    s.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="the extra seeds (default: 1 2)")
    s.add_argument("--only-seeds", action="store_true", help="run the extra seeds only, not the file as it is")
    s.add_argument("--retrain-base", type=int, default=0, metavar="K",
                   help="the first K seeds build and pretrain their own base (from --base-params)")
    s.add_argument("--base-params", default=None, help="params file whose model section builds a base")
    s.add_argument("--summaries", default=None, help="folder for each run's summary CSV, written as it lands")
    w = sub.add_parser("weights", help="train a params file's policy and reward models (stages 00-03) and ship them")
    w.add_argument("params", help="params YAML, e.g. params/default-train.yaml")
    w.add_argument("folder", help="where the weights and their MANIFEST.json go, e.g. weights/default")
    b = sub.add_parser("base", help="build a params file's pretrained tiny base model and ship it alone")
    b.add_argument("params", help="params YAML with model.base: tiny, e.g. params/base.yaml")
    b.add_argument("folder", help="where the base and its MANIFEST.json go, e.g. weights/base")
    return ap


def ship_weights(params_file: str, dest: str) -> int:
    """Train the params file's training stages, then export their models to ``dest`` (``e2h.stages.shipping``)."""
    from e2h.io import check_replaceable, run_lock
    from e2h.params import load_params
    from e2h.runner import run
    from e2h.stages import training_stages
    from e2h.stages.shipping import export
    from e2h.weights import MANIFEST, verify

    check_replaceable(dest, MANIFEST)  # before an hour of training, not after
    with run_lock(load_params(params_file).run_dir):
        run(params_file, stages=training_stages())
        out = export(params_file, dest)
    total = sum(m["bytes"] for m in verify(out)["files"].values())
    print(f"[e2h] weights of {params_file} in {out} ({total / 1e6:.1f} MB)")
    return 0


def ship_base(params_file: str, dest: str) -> int:
    """Build the params file's pretrained tiny base and ship it (``e2h.stages.shipping.export_base``)."""
    from e2h.io import check_replaceable, run_lock
    from e2h.params import load_params
    from e2h.stages.shipping import export_base
    from e2h.weights import MANIFEST, verify

    check_replaceable(dest, MANIFEST)
    with run_lock(load_params(params_file).run_dir):
        out = export_base(params_file, dest)
    total = sum(m["bytes"] for m in verify(out)["files"].values())
    print(f"[e2h] base of {params_file} in {out} ({total / 1e6:.1f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "seeds":
            from e2h.seeds import run_seeds

            return run_seeds(args.params, args.seeds, include_self=not args.only_seeds,
                             retrain_base=args.retrain_base, base_params=args.base_params,
                             summaries=args.summaries)
        if args.command == "weights":
            return ship_weights(args.params, args.folder)
        if args.command == "base":
            return ship_base(args.params, args.folder)
        from e2h.runner import run

        walls = run(args.params, stages=args.stages, force=args.force, html=args.html, notebooks_dir=args.notebooks,
                    wait=args.wait)
    except BAD_INPUT as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # papermill's PapermillExecutionError carries the failing cell and traceback
        if type(e).__name__ != "PapermillExecutionError":
            raise
        print(f"[e2h] stage failed in cell [{e.exec_count}]:\n{e.source}\n\n{e.ename}: {e.evalue}", file=sys.stderr)
        print("\n".join(e.traceback[-3:]), file=sys.stderr)
        return 1
    print(f"[e2h] all stages ok ({sum(walls.values()):.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
