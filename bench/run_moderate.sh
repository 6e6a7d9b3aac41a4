#!/bin/sh
# Issue 10's benchmarks once each at a moderate size (about 20 minutes in all on a 2-core
# machine), each one's output in bench/results/NAME.txt. The sizes are below; the full sizes
# are each script's defaults.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p bench/results
run() {
    name=$1; shift
    echo "### $name: $*" | tee bench/results/$name.txt
    "$PY" "$@" 2>&1 | tee -a bench/results/$name.txt
}
run webhook bench/bench_webhook.py --people 200 --repeats 1 --db postgresql --ignored
run flow bench/bench_flow.py --people 100 --repeats 2 --seconds 15 --db sqlite,postgresql
run delivery bench/bench_delivery.py --count 1500 --db sqlite,postgresql
run kills bench/bench_kills.py --kills 8 --count 1500 --db sqlite,postgresql
run processes bench/bench_processes.py --count 1200 --procs 1,2,4
run invite bench/bench_invite.py --after-select --households 20000 --invite 3000 --repeats 2
