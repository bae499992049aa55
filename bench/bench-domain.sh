#!/usr/bin/env bash
# bench-domain.sh: the domain-adaptation benchmark of issue 12 (MODEL.md's claim, on our data).
# Lab-style generated faces are the labelled source, wild-style ones the unlabelled target; each
# regime is trained from the same random initialisation per seed and scored on held-out wild faces
# of other identities (and on held-out lab faces, to see what adaptation costs at home):
#   a  source only: --target = the source pack (the adaptation terms see one domain; the trainer
#      has no AU-loss-only mode, so separation and reconstruction still run, on source alone)
#   b  ADLD: --no-contrastive (domain separation + reconstruction, joint landmarks)
#   c  the full joint model (b plus the contrastive alignment of MODEL.md)
# Usage: bench/bench-domain.sh [WORKDIR]   (default build/bench-domain)
# Settings (environment): CLI (mimica-cli), N_TRAIN (2000 per domain), N_TEST (500), ITERS (100),
# BATCH (8), SEEDS ("0 1 2"), AUS (1,2,4,6,12,17: ADLD's six), BACKEND (auto), REGIMES ("a b c").
# Prints one JSON line per run and a table of mean F1 (mean ± sd over seeds) at the end; packs and
# models and results.jsonl stay in WORKDIR; a finished run is not trained or scored again.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$top/build/bench-domain}
CLI=${CLI:-$top/build/app/cli/mimica-cli}
N_TRAIN=${N_TRAIN:-2000}
N_TEST=${N_TEST:-500}
ITERS=${ITERS:-100}
BATCH=${BATCH:-8}
SEEDS=${SEEDS:-0 1 2}
AUS=${AUS:-1,2,4,6,12,17}
BACKEND=${BACKEND:-auto}
REGIMES=${REGIMES:-a b c}
mkdir -p "$work"
cd "$work"

pack() { # domain n seed split file
    [ -f "$5" ] || "$CLI" synth --domain "$1" --n "$2" --seed "$3" --split "$4" -o "$5" >/dev/null
}
pack lab "$N_TRAIN" 1 train lab.pack
pack wild "$N_TRAIN" 2 train wild.pack
pack wild "$N_TEST" 3 test wild-test.pack
pack lab "$N_TEST" 4 test lab-test.pack

results=results.jsonl
for seed in $SEEDS; do
    for r in $REGIMES; do
        model=$r-s$seed-i$ITERS-b$BATCH.safetensors
        if [ ! -f "$model" ]; then
            case $r in
            a) extra=(--target lab.pack) ;;
            b) extra=(--target wild.pack --no-contrastive) ;;
            c) extra=(--target wild.pack) ;;
            *) echo "unknown regime $r" >&2; exit 2 ;;
            esac
            start=$(date +%s)
            "$CLI" train --source lab.pack "${extra[@]}" --iters "$ITERS" --batch "$BATCH" \
                --aus "$AUS" --seed "$seed" --backend "$BACKEND" --checkpoint-every 50 \
                -o "$model" >"$model.log" 2>&1
            echo "$r seed $seed: trained in $(($(date +%s) - start)) s" >&2
        fi
        for test in wild-test lab-test; do
            key="\"regime\": \"$r\", \"seed\": $seed, \"iters\": $ITERS, \"batch\": $BATCH, \"test\": \"$test\""
            grep -qF "$key" "$results" 2>/dev/null && continue # scored before
            json=$("$CLI" eval --model "$model" --pack "$test.pack" --json --backend "$BACKEND")
            line="{$key, \"eval\": $json}"
            echo "$line" | tee -a "$results"
        done
    done
done

python3 - "$results" "$ITERS" "$BATCH" <<'PY'
import json, statistics, sys
path, iters, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
for line in open(path):
    r = json.loads(line)
    if r["iters"] != iters or r["batch"] != batch:
        continue
    runs[(r["regime"], r["test"], r["seed"])] = r["eval"]
names = {"a": "source only", "b": "ADLD (--no-contrastive)", "c": "full joint model"}
print(f"\n{iters} iterations at batch {batch}; mean F1 over the AUs, mean ± sd over seeds")
print("| regime | wild-test mean F1 | wild-test NME | lab-test mean F1 | lab-test NME | seeds |")
print("|---|---|---|---|---|---|")
for reg in "abc":
    cells = []
    seeds = sorted({s for (g, t, s) in runs if g == reg})
    if not seeds:
        continue
    for test, key in (("wild-test", "mean_f1"), ("wild-test", "nme"), ("lab-test", "mean_f1"),
                      ("lab-test", "nme")):
        v = [runs[(reg, test, s)][key] for s in seeds if (reg, test, s) in runs]
        v = [x for x in v if x is not None]
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        cells.append(f"{statistics.mean(v):.3f} ± {sd:.3f}" if v else "-")
    print(f"| {names[reg]} | {' | '.join(cells)} | {len(seeds)} |")
PY
