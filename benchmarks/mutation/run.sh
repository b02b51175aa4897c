#!/usr/bin/env bash
# Mutation testing of the fast, pure-Python parts of course_lib with mutmut 3 (issue 19).
# Not part of the test suite or .ci/run: a benchmark-style run, about 15-30 min on 2 cores.
#
#   .venv/bin/pip install "mutmut==3.8.1"     # not in the default install
#   bash benchmarks/mutation/run.sh           # or: bash benchmarks/mutation/run.sh course_lib.metrics.*
#
# It copies the repository into a scratch folder (MUTATION_WORKDIR, default a new temp dir), puts
# benchmarks/mutation/setup.cfg there as the mutmut config, runs mutmut on the mutants named below (or
# on those given as arguments), and writes results.txt (every mutant and its status) and summary.md
# (score per module, every survivor with its diff) in that folder. The repository itself is not touched.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$repo/.venv}
work=${MUTATION_WORKDIR:-$(mktemp -d -t course-mutation-XXXXXX)}
children=${MUTATION_CHILDREN:-2}
mkdir -p "$work"
rm -rf "$work/mutants"
cp -r "$repo/course_lib" "$repo/tests" "$repo/data" "$repo/conftest.py" "$repo/pyproject.toml" "$work/"
cp "$repo/benchmarks/mutation/setup.cfg" "$work/setup.cfg"
find "$work" -name __pycache__ -prune -exec rm -rf {} +
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    # runtime.py: only choose_plan and the TF_CONFIG worker count it uses (the rest needs TensorFlow devices)
    names=("course_lib.metrics.*" "course_lib.data.*" "course_lib.gradcheck.*" "course_lib.evaluation.*"
           "course_lib.quick.*" "course_lib.runtime.x_choose_plan__mutmut_*" "course_lib.runtime.x__count_workers__mutmut_*")
fi
cd "$work"
echo "mutation run in $work ($(date -u +%FT%TZ), $(nproc) cores, $children children)"
start=$(date +%s)
nice -n 10 "$venv/bin/mutmut" run --max-children "$children" "${names[@]}" > run.log 2>&1 || { tail -c 3000 run.log; exit 1; }
echo "mutmut run: $(( $(date +%s) - start )) s"
"$venv/bin/mutmut" results --all true > results.txt
"$venv/bin/python" "$repo/benchmarks/mutation/summarize.py" results.txt "${names[@]}" > summary.md
cat summary.md | sed -n '1,/^## Survivors/p'
echo "full summary with diffs: $work/summary.md"
